#!/usr/bin/env bash
# The base image every service image builds FROM, made without a registry: a minimal
# Debian bookworm root from debootstrap (Python 3.11, as python:3.11-slim has), imported
# into podman's store as localhost/hub/base-python:3.11-bookworm. Runs as root (debootstrap
# needs it); the root is cached in $IMAGES_DIR, so a rebuild only re-imports it.
set -euo pipefail

IMAGES_DIR=${IMAGES_DIR:-var/images}
BASE_IMAGE=${BASE_IMAGE:-localhost/hub/base-python:3.11-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root="$IMAGES_DIR/rootfs-bookworm"
tarball="$IMAGES_DIR/base-bookworm.tar"

mkdir -p "$IMAGES_DIR"
if [[ ! -f "$tarball" ]]; then
  command -v debootstrap >/dev/null || { echo "debootstrap is needed: apt-get install debootstrap" >&2; exit 2; }
  rm -rf "$root"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$MIRROR"
  # What an image never needs: package caches and lists, documentation, locales.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
  # The services' user (UID 10001, as the Kubernetes manifests run them).
  chroot "$root" groupadd --gid 10001 hub
  chroot "$root" useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin hub
  mkdir -p "$root/var/lib/hub" "$root/etc/hub"
  chown 10001:10001 "$root/var/lib/hub"
  tar --numeric-owner -C "$root" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
fi
podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
  "$tarball" "$BASE_IMAGE" >/dev/null
echo "base image: $BASE_IMAGE"
