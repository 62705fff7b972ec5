#!/usr/bin/env bash
# `make images`: every service's image, tagged as deploy/k8s's manifests name them
# ($IMAGE_REGISTRY/<service>:$IMAGE_VERSION). On the debootstrap'd base (base.sh) unless
# BASE names another, e.g. BASE=docker.io/library/python:3.11-slim where a registry can be
# reached. All four from the one deploy/images/Containerfile, told which service by build
# arguments. `--print-tags` prints the image names, `--print-builds` each image's
# `podman build` arguments; neither builds anything.
set -euo pipefail
cd "$(dirname "$0")/../.."

REGISTRY=${IMAGE_REGISTRY:-registry.jining.local/hub}
VERSION=${IMAGE_VERSION:-1.0.0}
SERVICES=(permit-ingest enrollment incidents notifier)
# The port each service listens on (hub_shared.config.DEFAULT_PORTS; the manifests'
# containerPort), which its image EXPOSEs.
declare -A PORTS=([permit-ingest]=8001 [enrollment]=8002 [incidents]=8003 [notifier]=8004)

# One service's image: its directory and lock, its package (its name, _ for -), its port.
build_args() {
  local service=$1
  build=(-f deploy/images/Containerfile --build-arg "SERVICE=$service"
    --build-arg "MODULE=${service//-/_}" --build-arg "PORT=${PORTS[$service]}"
    -t "$REGISTRY/$service:$VERSION")
}

case ${1:-} in
  --print-tags)
    for service in "${SERVICES[@]}"; do echo "$REGISTRY/$service:$VERSION"; done
    exit 0 ;;
  --print-builds)
    for service in "${SERVICES[@]}"; do build_args "$service"; echo "${build[*]}"; done
    exit 0 ;;
esac
command -v podman >/dev/null || { echo "podman is needed: apt-get install podman buildah" >&2; exit 2; }
if [[ -z ${BASE:-} ]]; then
  BASE=localhost/hub/base-python:3.11-bookworm
  BASE_IMAGE=$BASE bash deploy/images/base.sh
fi
# pip's own settings on this machine, for the build steps only: the CA bundle of a
# TLS-inspecting proxy, a local wheel directory.
pip_options=()
if [[ -n ${PIP_CERT:-} && -f $PIP_CERT ]]; then
  pip_options+=(--volume "$PIP_CERT:$PIP_CERT:ro" --build-arg "PIP_CERT=$PIP_CERT")
fi
if [[ -n ${PIP_FIND_LINKS:-} && -d $PIP_FIND_LINKS ]]; then
  pip_options+=(--volume "$PIP_FIND_LINKS:$PIP_FIND_LINKS:ro" --build-arg "PIP_FIND_LINKS=$PIP_FIND_LINKS")
fi
# chroot isolation: RUN steps need no OCI runtime, so this works inside a container too.
for service in "${SERVICES[@]}"; do
  build_args "$service"
  podman build --isolation chroot "${pip_options[@]}" --build-arg "BASE=$BASE" "${build[@]}" .
done
podman images --filter "reference=$REGISTRY/*" --format '{{.Repository}}:{{.Tag}} {{.Size}}'
