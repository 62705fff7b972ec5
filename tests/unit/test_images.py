"""The service images: one Containerfile per service, built by deploy/images/build.sh
under exactly the names the Kubernetes manifests run, as UID 10001, with the module,
port and lock of its own service."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
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


def test_the_build_tags_the_images_the_manifests_run() -> None:
    built = subprocess.run(
        ["bash", str(ROOT / "deploy" / "images" / "build.sh"), "--print-tags"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(built) == sorted(str(_container(s)["image"]) for s in SERVICES)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_containerfile_runs_its_service_unprivileged(service: str) -> None:
    text = (ROOT / "services" / service / "Containerfile").read_text(encoding="utf-8")
    container = _container(service)
    final_stage = text.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER 10001:10001$", final_stage, re.M)
    assert f'CMD ["python", "-m", "{SERVICES[service]}"]' in final_stage
    assert container["command"] == ["python", "-m", SERVICES[service]]
    ports = container["ports"]
    assert isinstance(ports, list)
    assert f"EXPOSE {ports[0]['containerPort']}" in final_stage
    assert f"COPY deploy/images/locks/{service}.txt" in text
    assert "--no-deps" in text and "pip check" in text


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_lock_pins_every_package_exactly(service: str) -> None:
    lines = (ROOT / "deploy" / "images" / "locks" / f"{service}.txt").read_text().splitlines()
    pins = [line for line in lines if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[a-z0-9._-]+==[0-9][^\s;]*", p) for p in pins), pins
    names = {p.split("==")[0] for p in pins}
    assert {"fastapi", "aiokafka", "sqlalchemy", "uvicorn"} <= names
    assert not any(name.startswith("hub-") for name in names)  # installed from the source
