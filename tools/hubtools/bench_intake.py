"""Intake figures: permit-ingest's `POST /v1/permits` against a bare FastAPI app that only
validates the same model, under the same load, measured in the same run.

- closed loop: 32 connections (wrk -t2 -c32, else the asyncio fallback), req/s, p50/p99;
- open loop: 500 requests/s offered, latency from each request's scheduled time;
- `POST /v1/permits:batch`: one signed NDJSON body of 1,000 permits, permits/s.
"""

from __future__ import annotations

import asyncio
import string
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from hubtools import bench_wrk
from hubtools.bench_load import closed_loop, open_loop
from hubtools.bench_procs import Hub, Service, start_bare, write_config
from hubtools.bench_requests import signed_batch, signed_permits
from hubtools.bench_stats import Latency
from hubtools.bench_tracing import otlp_sink, overhead
from hubtools.kafka import free_ports

CONNECTIONS = 32
BATCH_LINES = 1000
TRACING_ROUNDS = 2


@dataclass(frozen=True)
class IntakeOptions:
    seconds: float = 10.0  # closed loop, per target
    open_rate: float = 500.0
    open_seconds: float = 10.0
    closed_capacity: int = 4000  # requests pre-signed per second of closed loop
    batches: int = 3


class _Tags:
    """Letters for permit numbers: every run and phase gets permits nobody sent before."""

    def __init__(self) -> None:
        self._n = 0

    def next(self) -> str:
        n, self._n = self._n, self._n + 1
        letters = string.ascii_uppercase
        return letters[n // 26 % 26] + letters[n % 26]


def _closed(url: str, port: int, tag: str, options: IntakeOptions, work: Path) -> dict[str, Any]:
    requests = signed_permits(tag, int(options.closed_capacity * options.seconds))
    if bench_wrk.available():
        r = bench_wrk.run(url + "/v1/permits", requests, work,
                          connections=CONNECTIONS, seconds=options.seconds)  # fmt: skip
        return {"tool": "wrk", "requests": r.requests, "req_per_s": r.per_s,
                "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "not_202": r.not_202}  # fmt: skip
    res = asyncio.run(closed_loop("127.0.0.1", port, requests, CONNECTIONS, options.seconds))
    lat = Latency.of_seconds(res.latencies)
    return {"tool": "asyncio", "requests": len(res.latencies),
            "req_per_s": len(res.latencies) / res.seconds, "p50_ms": lat.p50_ms,
            "p99_ms": lat.p99_ms, "not_202": len(res.latencies) - res.ok(202)}  # fmt: skip


def _open(port: int, tag: str, options: IntakeOptions) -> dict[str, Any]:
    requests = signed_permits(tag, int(options.open_rate * options.open_seconds))
    res = asyncio.run(open_loop("127.0.0.1", port, requests, options.open_rate))
    lat = Latency.of_seconds(res.latencies)
    return {"offered_per_s": options.open_rate, "sent": res.sent, "answered": len(res.latencies),
            "not_202": len(res.latencies) - res.ok(202), "errors": res.errors,
            "p50_ms": lat.p50_ms, "p99_ms": lat.p99_ms, "max_ms": lat.max_ms}  # fmt: skip


def _batch(url: str, tags: _Tags, options: IntakeOptions) -> dict[str, Any]:
    seconds, accepted = 0.0, 0
    with httpx.Client(timeout=120) as client:
        for _ in range(options.batches):
            request = signed_batch(tags.next(), BATCH_LINES)
            began = time.perf_counter()
            answer = client.post(url + request.path, content=request.body, headers=request.headers)
            seconds += time.perf_counter() - began
            if answer.status_code >= 300:
                raise RuntimeError(f"batch refused: {answer.status_code} {answer.text[:300]}")
            accepted += _accepted_lines(answer.json())
    return {"permits": BATCH_LINES * options.batches, "accepted": accepted,
            "permits_per_s": BATCH_LINES * options.batches / seconds}  # fmt: skip


def _accepted_lines(answer: Any) -> int:
    """Lines answered 202 (accepted) in the batch's per-line answer."""
    items = answer.get("results", []) if isinstance(answer, dict) else []
    if not isinstance(items, list):
        return 0
    return sum(1 for item in items if isinstance(item, dict) and item.get("http_status") == 202)


def measure_target(
    service: Service, tags: _Tags, options: IntakeOptions, work: Path, *, batch: bool
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "closed": _closed(service.url, service.port, tags.next(), options, work),
        "open": _open(service.port, tags.next(), options),
    }
    if batch:
        figures["batch"] = _batch(service.url, tags, options)
    figures["peak_rss_mib"] = service.peak_rss_mib()
    return figures


def run_intake(
    bootstrap: str, work: Path, options: IntakeOptions, postgres_url: str | None
) -> dict[str, Any]:
    """The bare app, then permit-ingest on SQLite, then (given a URL) on PostgreSQL."""
    tags = _Tags()
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"connections": CONNECTIONS, "wrk": bench_wrk.available()}
    bare = start_bare(free_ports(1)[0], work / "bare.log")
    try:
        out["bare"] = measure_target(bare, tags, options, work, batch=False)
    finally:
        bare.stop()
    config = write_config(work / "intake.toml", grace_seconds=86400)
    backends = {"sqlite": f"sqlite+aiosqlite:///{work / 'intake.db'}"}
    if postgres_url:
        backends["postgres"] = postgres_url
    for backend, url in backends.items():
        hub = Hub(config, bootstrap, work / backend, {"permit-ingest": url})
        try:
            hub.start("permit-ingest")
            service = hub.services["permit-ingest"]
            out[backend] = measure_target(service, tags, options, work, batch=True)
        finally:
            hub.stop()
    out["tracing"] = _tracing(config, bootstrap, work, tags, options)
    return out


def _tracing(
    config: Path, bootstrap: str, work: Path, tags: _Tags, options: IntakeOptions
) -> dict[str, Any]:
    """The SQLite closed loop with tracing off and on (spans exported to a sink), in
    alternating rounds on fresh databases, so both see the same machine."""
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    with otlp_sink() as endpoint:
        for round_no in range(TRACING_ROUNDS):
            for traced in (False, True):
                env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint} if traced else {}
                name = f"traced-{traced}-{round_no}"
                database = {"permit-ingest": f"sqlite+aiosqlite:///{work / (name + '.db')}"}
                hub = Hub(config, bootstrap, work / name, database, extra_env=env)
                try:
                    hub.start("permit-ingest")
                    service = hub.services["permit-ingest"]
                    runs[traced].append(
                        _closed(service.url, service.port, tags.next(), options, work)
                    )
                finally:
                    hub.stop()
    return overhead(_best(runs[False]), _best(runs[True]))


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the most requests per second: the least disturbed by the machine."""
    return max(runs, key=lambda r: float(r["req_per_s"]))


def as_dict(options: IntakeOptions) -> dict[str, Any]:
    return asdict(options)
