"""`hub run`: the local broker (unless one is given) and the four services, supervised.

docs/interfaces.md §1: a single-node Kafka on the configured 127.0.0.1 port unless
HUB_KAFKA_BOOTSTRAP names an existing cluster, then the four services as child processes
with prefixed, coloured output. Safe to rerun: the broker's data under $HUB_DATA_DIR/kafka
is reused, and a Kafka already answering on the port is used as it is.
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx
from rich.console import Console
from rich.table import Table

from hub_shared.config import EnvSettings, HubConfig
from hubtools.kafka import LocalKafka
from hubtools.kafka_admin import (
    answers_as_kafka,
    ensure_topics,
    port_open,
    run_sync,
    split_bootstrap,
)
from hubtools.supervisor import Supervisor

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Service name → the module that `python -m` runs.
SERVICE_MODULES: dict[str, str] = {
    "permit-ingest": "permit_ingest",
    "enrollment": "enrollment",
    "incidents": "incidents",
    "notifier": "notifier",
}
READY_POLL_SECONDS = 0.25


class RunError(Exception):
    """`hub run` cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    command: str
    port: int


@dataclass
class Broker:
    """Where the services find Kafka, and the local broker if `hub run` started one."""

    bootstrap: str
    local: LocalKafka | None
    origin: str
    ready_after: float = 0.0

    def stop(self) -> None:
        if self.local is not None:
            self.local.stop()


def service_specs(env: EnvSettings, commands: Mapping[str, str]) -> list[ServiceSpec]:
    """The four services with their ports; `commands` replaces a service's command line."""
    unknown = set(commands) - set(SERVICE_MODULES)
    if unknown:
        raise RunError(f"unknown services {sorted(unknown)}; known: {list(SERVICE_MODULES)}")
    return [
        ServiceSpec(
            name=name,
            command=commands.get(name, f"exec {shlex.quote(sys.executable)} -m {module}"),
            port=getattr(env, f"{module}_port"),
        )
        for name, module in SERVICE_MODULES.items()
    ]


def provide_broker(env: EnvSettings, hub: HubConfig, console: Console) -> Broker:
    """An answering Kafka with the hub's topics: the given one, a running one, or a new one."""
    partitions = hub.kafka.partitions
    if env.kafka_bootstrap:
        ensure_topics(env.kafka_bootstrap, partitions)
        return Broker(env.kafka_bootstrap, None, "HUB_KAFKA_BOOTSTRAP")
    host, port = split_bootstrap(hub.kafka.bootstrap)
    if host not in LOCAL_HOSTS:
        ensure_topics(hub.kafka.bootstrap, partitions)
        return Broker(hub.kafka.bootstrap, None, f"configured cluster ({env.config})")
    bootstrap = f"127.0.0.1:{port}"
    if run_sync(lambda: port_open(bootstrap)):
        if not run_sync(lambda: answers_as_kafka(bootstrap)):
            raise RunError(
                f"something listens on {bootstrap} but does not answer as Kafka; stop it, "
                "or set HUB_KAFKA_BOOTSTRAP, or change kafka.bootstrap in the configuration"
            )
        ensure_topics(bootstrap, partitions)
        return Broker(bootstrap, None, "already running")
    broker = local_broker(env, port, partitions)
    began = time.monotonic()
    with console.status(f"starting Kafka on {bootstrap} (data in {broker.data_dir})"):
        broker.start()
    return Broker(
        bootstrap, broker, f"started, data in {broker.data_dir}", time.monotonic() - began
    )


def local_broker(env: EnvSettings, port: int, partitions: int) -> LocalKafka:
    """The operator's broker: $HUB_DATA_DIR/kafka, tuned for running rather than starting."""
    return LocalKafka(env.data_dir / "kafka", port=port, partitions=partitions, fast_start=False)


def run_hub(env: EnvSettings, hub: HubConfig, commands: Mapping[str, str], console: Console) -> int:
    """Run until Ctrl-C / SIGTERM, restarting a service that exits; returns the exit code."""
    began = time.monotonic()
    specs = service_specs(env, commands)
    broker = provide_broker(env, hub, console)
    try:
        child_env = {
            **os.environ,
            "HUB_KAFKA_BOOTSTRAP": broker.bootstrap,
            "HUB_DATA_DIR": str(env.data_dir.resolve()),
            "HUB_CONFIG": str(env.config.resolve()),
            "PYTHONUNBUFFERED": "1",
        }
        env.data_dir.mkdir(parents=True, exist_ok=True)
        done = threading.Event()
        watcher = threading.Thread(
            target=_report_when_ready,
            args=(specs, _poll_host(env.host), broker, began, done, console),
            name="hub-readiness",
            daemon=True,
        )
        manager = Supervisor(on_started=watcher.start)
        for spec in specs:
            manager.add_process(spec.name, spec.command, env=child_env)
        try:
            manager.loop()  # restarts a service that exits; SIGINT/SIGTERM stop them all
        finally:
            done.set()
            if watcher.is_alive():
                watcher.join(timeout=5)
        return int(manager.returncode or 0)
    finally:
        if broker.local is not None:
            console.print(f"stopping Kafka on {broker.bootstrap}")
        broker.stop()


def _poll_host(host: str) -> str:
    return "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host


def _report_when_ready(
    specs: Sequence[ServiceSpec],
    host: str,
    broker: Broker,
    began: float,
    done: threading.Event,
    console: Console,
) -> None:
    """Poll each service's GET /readyz; print one table once all answer 200."""
    ready_after: dict[str, float] = {}
    with httpx.Client(timeout=1.0) as client:
        while not done.is_set() and len(ready_after) < len(specs):
            for spec in specs:
                if spec.name in ready_after:
                    continue
                try:
                    response = client.get(f"http://{host}:{spec.port}/readyz")
                except httpx.HTTPError:
                    continue
                if response.status_code == 200:
                    ready_after[spec.name] = time.monotonic() - began
            done.wait(READY_POLL_SECONDS)
    if len(ready_after) == len(specs):
        console.print(_ready_table(specs, host, broker, ready_after))


def _ready_table(
    specs: Sequence[ServiceSpec], host: str, broker: Broker, ready_after: Mapping[str, float]
) -> Table:
    total = max(ready_after.values())
    table = Table(
        title=f"hub ready in {total:.1f} s (Ctrl-C stops it)",
        caption=f"Kafka: {broker.origin}",
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("part")
    table.add_column("address")
    table.add_column("ready after", justify="right")
    table.add_row("kafka", broker.bootstrap, f"{broker.ready_after:.1f} s")
    for spec in specs:
        table.add_row(spec.name, f"http://{host}:{spec.port}", f"{ready_after[spec.name]:.1f} s")
    return table
