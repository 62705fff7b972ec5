"""End to end: accidents at uninsured employers posted open-loop to incidents, each raising
`accident_uninsured_employer` in enrollment, delivered by the notifier as a signed webhook
to an office receiver. Latency runs from each request's scheduled time to its webhook's
arrival; the four services are processes as `hub run` starts them, on SQLite."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from hubtools.bench_load import open_loop
from hubtools.bench_procs import Hub, Service, write_config
from hubtools.bench_requests import accident
from hubtools.bench_stats import Latency
from hubtools.kafka import free_ports
from hubtools.run import SERVICE_MODULES

RAISED = "cn.gov.jining.hub.alert.raised"


@dataclass(frozen=True)
class E2eOptions:
    rate: float = 200.0
    seconds: float = 60.0
    drain_timeout: float = 180.0  # after the last request, for the last webhook


def start_receiver(work: Path, secret: str | None = None) -> Service:
    """The office receiver (hubtools.bench_receiver) as its own process; with `secret`, it
    checks each delivery's signature."""
    service = Service("receiver", free_ports(1)[0], work / "receiver.log")
    check = ["--secret", secret] if secret else []
    with service.log.open("ab") as out:
        service.process = subprocess.Popen(
            [sys.executable, "-m", "hubtools.bench_receiver", "--port", str(service.port), *check],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    service.wait_ready("/count")
    return service


def _wait_delivered(receiver: Service, want: set[str], timeout: float) -> list[list[Any]]:
    """The receiver's records once the alerts of every report in `want` arrived, or when
    time is up."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30) as client:
        while True:
            records: list[list[Any]] = client.get(receiver.url + "/stats").json()
            raised = {r[3] for r in records if r[2] == RAISED}
            if want <= raised or time.monotonic() > deadline:
                return records
            time.sleep(0.5)


def _figures(
    tag: str, accepted: list[int], wall_start: float, rate: float, records: list[list[Any]]
) -> dict[str, Any]:
    raised = [r for r in records if r[2] == RAISED]
    first: dict[str, float] = {}
    for record in raised:
        arrived, report_id = record[0], record[3]
        first[report_id] = min(arrived, first.get(report_id, arrived))
    latencies = []
    for i in accepted:
        arrived = first.get(f"ACC-{tag}-{i}")
        if arrived is not None:
            latencies.append(arrived - (wall_start + i / rate))
    per_alert = Counter(r[3] for r in raised)
    lat = Latency.of_seconds(latencies)
    return {
        "delivered_alerts": len(first),
        "deliveries": len(raised),
        "distinct_webhook_ids": len({r[1] for r in raised}),
        "duplicates": sum(n - 1 for n in per_alert.values()),
        "missing": len(accepted) - len(latencies),
        "p50_ms": lat.p50_ms,
        "p99_ms": lat.p99_ms,
        "max_ms": lat.max_ms,
    }


def run_e2e(bootstrap: str, work: Path, options: E2eOptions) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    receiver = start_receiver(work)
    config = write_config(work / "e2e.toml", grace_seconds=86400,
                          office_webhook=f"{receiver.url}/alerts")  # fmt: skip
    hub = Hub(config, bootstrap, work / "hub")
    try:
        hub.start(*SERVICE_MODULES)
        tag = "E2E"
        count = int(options.rate * options.seconds)
        occurred = datetime.now(UTC) - timedelta(hours=1)
        requests = [accident(tag, i, occurred) for i in range(count)]
        incidents = hub.services["incidents"]
        load = asyncio.run(
            open_loop("127.0.0.1", incidents.port, requests, options.rate,
                      drain_seconds=options.drain_timeout)
        )  # fmt: skip
        wanted = {f"ACC-{tag}-{i}" for i in load.accepted}
        records = _wait_delivered(receiver, wanted, options.drain_timeout)
        out = {
            "offered_per_s": options.rate,
            "seconds": options.seconds,
            "sent": load.sent,
            "accepted": len(load.accepted),
            "accepted_per_s": len(load.accepted) / load.seconds,
            "errors": load.errors,  # no answer: the connection failed or was closed
            "statuses": {str(k): v for k, v in load.statuses.items()},
            "request": Latency.of_seconds(load.latencies).__dict__,
        }
        out |= _figures(tag, load.accepted, load.wall_start, options.rate, records)
        out["exactly_once"] = out["missing"] == 0 and out["duplicates"] == 0
        out["drain_timeout_s"] = options.drain_timeout
        out["peak_rss_mib"] = {n: s.peak_rss_mib() for n, s in hub.services.items()}
        return out
    finally:
        hub.stop()
        receiver.stop()
