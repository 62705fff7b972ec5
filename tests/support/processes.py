"""The four services as real processes (`python -m <package>`), as `make run` starts them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.hub import wait_for

PACKAGES = {
    "permit-ingest": "permit_ingest",
    "enrollment": "enrollment",
    "incidents": "incidents",
    "notifier": "notifier",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Services:
    env: dict[str, str]
    ports: dict[str, int]
    data_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, service: str) -> None:
        log = (self.data_dir / f"{service}.log").open("ab")
        self.procs[service] = subprocess.Popen(
            [sys.executable, "-m", PACKAGES[service]], env=self.env, stdout=log, stderr=log
        )

    def kill(self, service: str) -> None:
        """SIGKILL: the process gets no chance to flush or finish anything."""
        proc = self.procs.pop(service)
        proc.kill()
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()

    def log(self, service: str) -> str:
        return (self.data_dir / f"{service}.log").read_text(errors="replace")

    async def until_ready(self, timeout: float = 60) -> None:
        """Every started service answers /readyz 200; fails at once if one exits."""
        async with httpx.AsyncClient(timeout=2) as client:

            async def ready(service: str) -> bool:
                if self.procs[service].poll() is not None:
                    raise AssertionError(f"{service} exited:\n{self.log(service)[-3000:]}")
                try:
                    return (await client.get(self.url(service) + "/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            for service in self.procs:
                await wait_for(
                    lambda s=service: ready(s),
                    timeout=timeout,
                    what=f"{service} /readyz (log: {self.data_dir / service}.log)",
                )


@contextmanager
def hub_processes(config: Path, bootstrap: str, data_dir: Path) -> Iterator[Services]:
    ports = {name: free_port() for name in PACKAGES}
    env = {
        **os.environ,
        "HUB_CONFIG": str(config),
        "HUB_DATA_DIR": str(data_dir),
        "HUB_KAFKA_BOOTSTRAP": bootstrap,
        "HUB_CONSUMER_GROUP_PREFIX": f"e2e-{uuid.uuid4().hex[:8]}",
        "HUB_PII_KEY": "e2e-pii-key-0123456789abcdef",
        **{f"HUB_{name.upper().replace('-', '_')}_PORT": str(port) for name, port in ports.items()},
    }
    for key in (
        "HUB_DATABASE_URL",
        *(f"HUB_{n.upper().replace('-', '_')}_DATABASE_URL" for n in PACKAGES),
    ):
        env.pop(key, None)
    services = Services(env=env, ports=ports, data_dir=data_dir)
    try:
        for name in PACKAGES:
            services.start(name)
        yield services
    finally:
        services.stop_all()
        for name in PACKAGES:  # captured: pytest shows it when the test failed
            tail = "\n".join(services.log(name).splitlines()[-40:])
            print(f"--- last lines of {name}.log ---\n{tail}")
