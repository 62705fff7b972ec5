"""The service images: every one from deploy/images/Containerfile, built by
deploy/images/build.sh under exactly the names the Kubernetes manifests run, as UID 10001,
with the module, port and lock of its own service."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from hub_shared.config import DEFAULT_PORTS
from hubtools.locks import lock_text

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "deploy" / "images"
SERVICES = {
    "permit-ingest": "permit_ingest",
    "enrollment": "enrollment",
    "incidents": "incidents",
    "notifier": "notifier",
}


def _container(service: str) -> dict[str, object]:
    path = ROOT / "deploy" / "k8s" / "services" / service / "deployment.yaml"
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _build_sh(option: str) -> list[str]:
    return subprocess.run(
        ["bash", str(IMAGES / "build.sh"), option], capture_output=True, text=True, check=True
    ).stdout.splitlines()


def _builds() -> dict[str, dict[str, str]]:
    """Each service's `podman build` options as build.sh passes them: the Containerfile
    (`-f`), the tag (`-t`) and the build arguments, by the SERVICE argument."""
    builds = {}
    for line in _build_sh("--print-builds"):
        words = iter(line.split())
        options: dict[str, str] = {}
        for word in words:
            value = next(words)
            if word == "--build-arg":
                key, _, arg = value.partition("=")
                options[key] = arg
            else:
                options[word] = value
        builds[options["SERVICE"]] = options
    return builds


def _final_stage() -> str:
    return (IMAGES / "Containerfile").read_text(encoding="utf-8").rsplit("\nFROM ", 1)[1]


def test_the_build_tags_the_images_the_manifests_run() -> None:
    built = _build_sh("--print-tags")
    assert sorted(built) == sorted(str(_container(s)["image"]) for s in SERVICES)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_image_is_built_from_the_one_containerfile_as_its_service(service: str) -> None:
    build = _builds()[service]
    container = _container(service)
    ports = container["ports"]
    assert isinstance(ports, list)
    assert build["-f"] == "deploy/images/Containerfile"
    assert build["-t"] == container["image"]
    assert build["MODULE"] == SERVICES[service]
    assert container["command"] == ["python", "-m", SERVICES[service]]
    assert int(build["PORT"]) == DEFAULT_PORTS[service] == ports[0]["containerPort"]
    assert not (ROOT / "services" / service / "Containerfile").exists()  # no copy per service


def test_the_containerfile_runs_the_service_it_is_given_unprivileged() -> None:
    text = (IMAGES / "Containerfile").read_text(encoding="utf-8")
    final_stage = _final_stage()
    assert "COPY deploy/images/locks/${SERVICE}.txt" in text
    assert "COPY services/${SERVICE} /src/service" in text
    assert "--no-deps" in text and "pip check" in text and "pip uninstall" in text
    assert re.search(r"^USER 10001:10001$", final_stage, re.M)
    assert re.search(r"^EXPOSE \$\{PORT\}$", final_stage, re.M)
    assert re.search(r"^\s+SERVICE_MODULE=\$\{MODULE\}$", final_stage, re.M)
    # exec: Python, not the shell, is the container's process and receives its signals.
    assert 'CMD ["/bin/sh", "-c", "exec python -m \\"$SERVICE_MODULE\\""]' in final_stage


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_lock_pins_every_package_exactly(service: str) -> None:
    lines = (IMAGES / "locks" / f"{service}.txt").read_text().splitlines()
    pins = [line for line in lines if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[a-z0-9._-]+==[0-9][^\s;]*", p) for p in pins), pins
    names = {p.split("==")[0] for p in pins}
    assert {"fastapi", "aiokafka", "sqlalchemy", "uvicorn"} <= names
    assert not any(name.startswith("hub-") for name in names)  # installed from the source


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_lock_holds_what_the_service_now_requires(service: str) -> None:
    # A requirement added without `make locks` fails the image's `pip check`.
    text = (IMAGES / "locks" / f"{service}.txt").read_text(encoding="utf-8")
    assert text == lock_text(service), "stale lock: run make locks"
