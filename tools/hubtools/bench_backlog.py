"""Backlog: the live enrollment service, run as in production (`python -m enrollment` with a
fresh database and consumer-group prefix), consuming a backlog of mixed events, against a
bare aiokafka consumer of the same topics in the same run.

The service's rate runs from its launch until its consumer groups' committed offsets reach
the topics' end offsets (read from Kafka, not from the service). Its open
`project_not_enrolled` alerts are then read back from alerts.v1 once they stop changing.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from hubtools import bench_offsets as kafka_read
from hubtools.bench_events import expected_uncovered, generate, produce, topics
from hubtools.bench_procs import Hub, Service, write_config

GRACE_SECONDS = 1  # every generated permit was received in 2021: each is due at once
PEER_TOPICS = ["permits.v1", "enrollments.v1"]
SETTLE_POLLS = 3  # alerts.v1 unchanged and the outbox empty for this many polls, 1 s apart


def fill(bootstrap: str, events: int) -> dict[str, Any]:
    count, seconds = asyncio.run(produce(bootstrap, generate(events)))
    return {"events": count, "produce_s": seconds}


def raw_rate(bootstrap: str, events: int) -> float:
    return asyncio.run(kafka_read.raw_consume(bootstrap, topics(), events, timeout=600))


def _caught_up(hub: Hub, total: int, timeout: float) -> float:
    """Seconds from launch until the groups' committed offsets reach the end offsets."""
    ends = asyncio.run(kafka_read.end_offsets(hub.bootstrap, topics()))
    began = time.time()
    hub.start("enrollment", wait=False)
    service = hub.services["enrollment"]
    while time.time() - began < timeout:
        if service.process is None or service.process.poll() is not None:
            raise RuntimeError(f"enrollment exited:\n{service.tail()}")
        done = asyncio.run(kafka_read.committed(hub.bootstrap, hub.group_prefix))
        if kafka_read.lag(ends, done) == 0:
            return time.time() - began
        time.sleep(0.5)
    raise RuntimeError(f"enrollment did not catch up with {total:,} events in {timeout:.0f} s")


def outbox_pending(client: httpx.Client, service: Service) -> float:
    text = client.get(service.url + "/metrics").text
    found = re.search(r"^hub_outbox_pending\s+([\d.e+]+)", text, re.M)
    return float(found[1]) if found else 0.0


def _settle(hub: Hub, service: Service, timeout: float) -> float:
    """Seconds until the outbox is empty and alerts.v1 stopped growing (bounded)."""
    began, last, quiet = time.monotonic(), -1, 0
    with httpx.Client(timeout=10) as client:
        while quiet < SETTLE_POLLS and time.monotonic() - began < timeout:
            ends = asyncio.run(kafka_read.end_offsets(hub.bootstrap, [kafka_read.ALERTS_TOPIC]))
            now = sum(ends.values())
            pending = outbox_pending(client, service)
            quiet = quiet + 1 if (now == last and pending == 0) else 0
            last = now
            time.sleep(1)
    return time.monotonic() - began


def run_service(
    bootstrap: str, work: Path, backend: str, database_url: str, total: int
) -> tuple[dict[str, Any], set[str]]:
    """One live run; its figures and the permit numbers of its open project alerts."""
    config = write_config(work / "backlog.toml", grace_seconds=GRACE_SECONDS)
    hub = Hub(config, bootstrap, work / backend, {"enrollment": database_url})
    since = asyncio.run(kafka_read.end_offsets(bootstrap, [kafka_read.ALERTS_TOPIC]))
    timeout = max(600.0, total / 200)
    try:
        seconds = _caught_up(hub, total, timeout)
        service = hub.services["enrollment"]
        service.wait_ready()
        rss = service.peak_rss_mib()
        settle_s = _settle(hub, service, timeout)
        rss = max(rss, service.peak_rss_mib())
        uncovered = asyncio.run(
            kafka_read.open_alerts(bootstrap, since, "project_not_enrolled", timeout=timeout)
        )
    finally:
        hub.stop()
    figures = {
        "seconds": seconds,
        "events_per_s": total / seconds,
        "peak_rss_mib": rss,
        "alerts_settled_after_s": settle_s,
        "open_project_alerts": len(uncovered),
    }
    return figures, uncovered


def compare(found: set[str], expected: set[str]) -> dict[str, Any]:
    return {
        "uncovered": len(found),
        "agrees_with_expected": found == expected,
        "missing": len(expected - found),
        "extra": len(found - expected),
    }


def expected(events: int) -> set[str]:
    return expected_uncovered(events)


def run_peer(bootstrap: str, work: Path, timeout: float) -> tuple[dict[str, Any], set[str]]:
    """The Quix Streams peer (hubtools.quix_peer) in a process of its own; its rate runs from
    launch to the last record it judged, over the records it read."""
    out = work / "quix-peer.json"
    ends = asyncio.run(kafka_read.end_offsets(bootstrap, PEER_TOPICS))
    command = [sys.executable, "-m", "hubtools.quix_peer", "--bootstrap", bootstrap,
               "--out", str(out), "--expected", str(sum(ends.values()))]  # fmt: skip
    began = time.time()
    with (work / "quix-peer.log").open("ab") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=True)
    result = json.loads(out.read_text())
    seconds = result["last_at"] - began
    figures = {"events": result["events"], "seconds": seconds,
               "events_per_s": result["events"] / seconds,
               "peak_rss_mib": result["peak_rss_mib"]}  # fmt: skip
    return figures, set(result["uncovered"])
