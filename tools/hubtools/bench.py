"""`make bench`: measured figures of the permit path, reported and never asserted.

Starts its own broker (Kafka 4.3.1 from the jars) in a temporary directory, runs permit-ingest
and enrollment in this process on SQLite, and measures:
- permit-ingest: signed permits accepted per second and request latency (p50/p99);
- the outbox relay: time until every accepted permit is on permits.v1;
- the matcher: permits judged per second (grace 0: each becomes one alert on alerts.v1).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table

from hub_shared import webhooks
from hub_shared.config import EnvSettings, ServiceName, ServiceSettings
from hub_shared.memory import peak_rss_mib
from hubtools.kafka import LocalKafka

N_PERMITS = 2000
CONCURRENCY = 16
SECRET = "whsec_YmVuY2gtc291cmNlLXNlY3JldC0wMTIzNDU2Nzg5"  # noqa: S105 - a throwaway bench source
console = Console()


def _config(path: Path) -> Path:
    path.write_text(
        f"""
[matching]
grace_seconds = 0
scan_interval_seconds = 0.05

[[sources]]
id = "bench"
kind = "permits"
secret = "{SECRET}"
""",
        encoding="utf-8",
    )
    return path


def _settings(service: ServiceName, config: Path, bootstrap: str, data: Path) -> ServiceSettings:
    slug = service.replace("-", "_")
    env = EnvSettings(
        config=config,
        kafka_bootstrap=bootstrap,
        data_dir=data,
        consumer_group_prefix=f"bench-{uuid.uuid4().hex[:6]}",
        **{f"{slug}_database_url": f"sqlite+aiosqlite:///{data / (slug + '.db')}"},  # type: ignore[arg-type]
    )
    return ServiceSettings.load(service, env)


def _permit(i: int) -> bytes:
    permit_no = (
        f"3708112021{(i // 9000) % 12 + 1:02d}{(i // 9000) % 28 + 1:02d}{i % 9000 + 1000:04d}"
    )
    return json.dumps(
        {
            "permit_no": permit_no,
            "project_name": f"基准项目{i}",
            "address": "济宁市任城区",
            "division_code": "370811",
            "contract_price_wan": 100.0,
            "planned_start": "2021-04-01",
            "planned_end": "2022-04-01",
            "issued_at": "2021-03-15T09:30:00+08:00",
            "builder": {"name": "济宁运河置业有限公司", "uscc": "91370811MA3AY4C041"},
            "contractor": {"name": "山东鲁班建设集团有限公司", "uscc": "91370812MA3L12T073"},
        },
        ensure_ascii=False,
    ).encode()


async def _count(bootstrap: str, topic: str, want: int, timeout: float = 600) -> float:
    """Seconds until `want` records are on the topic (read from the beginning)."""
    began = time.perf_counter()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen = 0
    try:
        while seen < want and time.perf_counter() - began < timeout:
            batch = await consumer.getmany(timeout_ms=200)
            seen += sum(len(v) for v in batch.values())
    finally:
        await consumer.stop()
    return time.perf_counter() - began


async def _post_all(client: httpx.AsyncClient) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(N_PERMITS):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            body = _permit(queue.get_nowait())
            headers = webhooks.sign([SECRET], f"msg_{uuid.uuid4().hex}", body)
            headers |= {"X-Hub-Source": "bench", "Content-Type": "application/json"}
            began = time.perf_counter()
            response = await client.post("/v1/permits", content=body, headers=headers)
            latencies.append(time.perf_counter() - began)
            if response.status_code != 202:
                raise RuntimeError(f"bench permit refused: {response.status_code} {response.text}")

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return latencies


async def _bench(kafka: LocalKafka, data: Path) -> dict[str, Any]:
    from enrollment.app import create_app as enrollment_app
    from permit_ingest.app import create_app as ingest_app

    config = _config(data / "bench.toml")
    ingest: FastAPI = ingest_app(_settings("permit-ingest", config, kafka.bootstrap, data))
    async with ingest.router.lifespan_context(ingest):
        transport = httpx.ASGITransport(app=ingest)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            began = time.perf_counter()
            latencies = await _post_all(client)
            accept_s = time.perf_counter() - began
            published_s = await _count(kafka.bootstrap, "permits.v1", N_PERMITS)
    matcher: FastAPI = enrollment_app(_settings("enrollment", config, kafka.bootstrap, data))
    began = time.perf_counter()
    async with matcher.router.lifespan_context(matcher):
        await _count(kafka.bootstrap, "alerts.v1", N_PERMITS)
        matched_s = time.perf_counter() - began
    q = statistics.quantiles(latencies, n=100)
    return {
        "permits": N_PERMITS,
        "concurrency": CONCURRENCY,
        "accepted_per_s": N_PERMITS / accept_s,
        "latency_p50_ms": q[49] * 1000,
        "latency_p99_ms": q[98] * 1000,
        "all_published_after_s": accept_s + published_s,
        "matcher_permits_per_s": N_PERMITS / matched_s,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        data = Path(tmp)
        with LocalKafka(data / "kafka", partitions=6) as kafka:
            figures = asyncio.run(_bench(kafka, data))
    table = Table(title="permit path (SQLite, one process per service, 2 cores)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,.1f}" if isinstance(value, float) else str(value))
    console.print(table)
    out = Path("var/bench-permits.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
