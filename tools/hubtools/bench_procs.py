"""The processes the benchmarks measure: hub services started as `hub run` starts them
(`python -m <package>`, configured through HUB_ variables), and their configuration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hubtools.bench_requests import EMERGENCY_TOKEN, OFFICE_SECRET, SOURCE_ID, SOURCE_SECRET
from hubtools.kafka import free_ports
from hubtools.run import SERVICE_MODULES

READY_TIMEOUT = 90.0


def write_config(
    path: Path, *, grace_seconds: float, office_webhook: str | None = None, more: str = ""
) -> Path:
    """One permit source, an emergency-management client, and the city office (every
    county) with a webhook when one is given; `more` is appended TOML (more clients)."""
    hook = f'webhook_url = "{office_webhook}"\nwebhook_secret = "{OFFICE_SECRET}"\n'
    path.write_text(
        f"""
[matching]
grace_seconds = {grace_seconds}
scan_interval_seconds = 0.1

[delivery]
retry_schedule_seconds = [1, 2, 5]
timeout_seconds = 5

[[sources]]
id = "{SOURCE_ID}"
kind = "permits"
secret = "{SOURCE_SECRET}"

[[clients]]
id = "bench-emergency"
token = "{EMERGENCY_TOKEN}"
scopes = ["accidents:write"]
divisions = ["370800"]

[[offices]]
id = "city"
divisions = ["370800"]
token = "bench-office-city"
{hook if office_webhook else ""}{more}""",
        encoding="utf-8",
    )
    return path


def peak_rss_mib(pid: int) -> float:
    """VmHWM of a live process plus that of its live children (a writer process, say)."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.is_file():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        status = Path(f"/proc/{p}/status")
        if status.is_file():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total


@dataclass
class Service:
    """One service process; `url` once it is started."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str = "/readyz", timeout: float = READY_TIMEOUT) -> float:
        """Seconds until GET `path` answers 200; RuntimeError if the process exits first."""
        began = time.monotonic()
        with httpx.Client(timeout=2) as client:
            while time.monotonic() - began < timeout:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited; see {self.log}:\n{self.tail()}")
                try:
                    if client.get(self.url + path).status_code == 200:
                        return time.monotonic() - began
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout} s; see {self.log}")

    def peak_rss_mib(self) -> float:
        return peak_rss_mib(self.process.pid) if self.process is not None else 0.0

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Hub:
    """Some of the four services, each its own process, sharing one environment."""

    config: Path
    bootstrap: str
    data_dir: Path
    database_urls: dict[str, str] = field(default_factory=dict)
    group_prefix: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")
    services: dict[str, Service] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. tracing's endpoint

    def env(self, ports: dict[str, int]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env |= {
            "HUB_CONFIG": str(self.config),
            "HUB_DATA_DIR": str(self.data_dir),
            "HUB_KAFKA_BOOTSTRAP": self.bootstrap,
            "HUB_CONSUMER_GROUP_PREFIX": self.group_prefix,
            "HUB_PII_KEY": "bench-pii-key-0123456789abcdef",
            "HUB_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        } | self.extra_env
        for name, port in ports.items():
            module = SERVICE_MODULES[name].upper()
            env[f"HUB_{module}_PORT"] = str(port)
            if name in self.database_urls:
                env[f"HUB_{module}_DATABASE_URL"] = self.database_urls[name]
        return env

    def start(self, *names: str, wait: bool = True) -> None:
        """Start the named services; with `wait`, return once every one answers /readyz."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ports = dict(zip(names, free_ports(len(names)), strict=True))
        for name in names:
            service = Service(name, ports[name], self.data_dir / f"{name}.log")
            self.services[name] = service
            self._spawn(service)
        for name in names:
            if wait:
                self.services[name].wait_ready()

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash would: the process gets no chance to finish anything."""
        process = self.services[name].process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def restart(self, name: str) -> None:
        """Start a stopped or killed service again on its port, with the same environment
        (so the same database and consumer groups); returns without waiting."""
        self._spawn(self.services[name])

    def _spawn(self, service: Service) -> None:
        env = self.env({n: s.port for n, s in self.services.items()})
        with service.log.open("ab") as log:
            service.process = subprocess.Popen(
                [sys.executable, "-m", SERVICE_MODULES[service.name]],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()
        self.services.clear()


def start_bare(port: int, log: Path) -> Service:
    """The bare intake app (hubtools.bare_intake) as its own uvicorn process."""
    service = Service("bare-intake", port, log)
    with log.open("ab") as out:
        service.process = subprocess.Popen(
            [sys.executable, "-m", "hubtools.bare_intake", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    service.wait_ready("/healthz")
    return service
