"""`python -m hubtools.bench_notifier`: the notifier's delivery figures, reported and
never asserted.

Starts its own broker (Kafka 4.3.1 from the jars) in a temporary directory, the notifier
in this process on SQLite, and an office webhook receiver in another process that fails
10% of calls (503). Twelve offices (the eleven counties and the city), so every alert
goes to two offices. Two runs:
- paced: alerts at 100/s for 20 s; latency from `raised_at` to the receiver's 2xx, for
  every delivery (a delivery that failed first waits its first retry) and for those that
  went through at the first try;
- throughput: alerts published as fast as the producer goes; deliveries per second
  from the first publish to the last 2xx.
Both on SQLite (the local default) and, when PostgreSQL's binaries are installed, on a
throwaway PostgreSQL cluster (production's database). Writes var/bench-notifier.json.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table
from sqlalchemy import func
from sqlmodel import col, select

from hub_shared.config import EnvSettings, ServiceSettings
from hub_shared.domain.divisions import CITY, county_codes
from hub_shared.memory import peak_rss_mib
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.topics import event_type
from hubtools.kafka import LocalKafka
from hubtools.postgres import LocalPostgres, find_pg_bin

PACED_RATE, PACED_SECONDS = 100, 20
THROUGHPUT_ALERTS = 5000
FAIL_RATIO = 0.10
SECRET = "whsec_" + base64.b64encode(b"bench-notifier-office-secret-01").decode()
console = Console()


# --- the office receiver, in its own process so that it costs the notifier no CPU ---


def _receiver(port: int, fail_ratio: float) -> None:
    asyncio.run(_serve_receiver(port, fail_ratio))


async def _serve_receiver(port: int, fail_ratio: float) -> None:
    """HTTP/1.1 keep-alive; 503 for `fail_ratio` of the POSTs; GET /stats gives
    [subject, path, wall-clock time, first_try] of every 2xx, GET /count how many
    distinct deliveries (subject and path) got a 2xx."""
    delivered: list[tuple[str, str, float, bool]] = []
    distinct: set[tuple[str, str]] = set()
    seen: set[str] = set()
    rng = random.Random(5)  # noqa: S311 - failure injection, not secrecy

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = h.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if method == "GET":
                    answer = delivered if path == "/stats" else len(distinct)
                    payload = json.dumps(answer).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(payload))
                    writer.write(payload)
                elif rng.random() < fail_ratio:
                    seen.add(headers.get("webhook-id", ""))
                    writer.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                else:
                    now = time.time()
                    webhook_id = headers.get("webhook-id", "")
                    subject = json.loads(body)["subject"]
                    delivered.append((subject, path, now, webhook_id not in seen))
                    distinct.add((subject, path))
                    writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- the notifier and the alerts ---


def _config(path: Path, receiver: str) -> Path:
    offices = "".join(
        f'\n[[offices]]\nid = "o{code}"\ndivisions = ["{code}"]\n'
        f'webhook_url = "{receiver}/{code}"\nwebhook_secret = "{SECRET}"\n'
        f'token = "bench-{code}"\n'
        for code in (CITY, *county_codes())
    )
    path.write_text(
        "[delivery]\nretry_schedule_seconds = [0.1, 0.5, 2, 5, 30]\ntimeout_seconds = 5\n"
        + offices,
        encoding="utf-8",
    )
    return path


def _alert(division: str) -> Envelope:
    alert_id = str(uuid.uuid4())
    data = {
        "alert_id": alert_id,
        "kind": "project_not_enrolled",
        "status": "open",
        "division_code": division,
        "subject": {"uscc": "91370812MA3L12T073", "name": "山东鲁班建设集团有限公司",
                    "permit_no": f"{division}202103150101", "project_name": "基准项目"},
        "reason": "施工许可证已发放 24 小时, 未找到按项目参保记录",
        "evidence": [{"type": "permit.issued", "id": str(uuid.uuid4())}],
        "raised_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    return Envelope(
        type=event_type("alert.raised"),
        source="/hub/enrollment",
        data=data,
        key=alert_id,
        subject=alert_id,
    )


async def _delivered(receiver: str) -> list[tuple[str, str, float, bool]]:
    async with httpx.AsyncClient() as client:
        rows = (await client.get(f"{receiver}/stats", timeout=60)).json()
    return [(s, p, float(t), bool(f)) for s, p, t, f in rows]


async def _wait_count(receiver: str, want: int, limit: float) -> None:
    """Until the receiver has `want` distinct deliveries (or `limit` seconds pass)."""
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if int((await client.get(f"{receiver}/count", timeout=30)).json()) >= want:
                return
            await asyncio.sleep(0.1)
    console.print(f"[red]gave up waiting for {want} deliveries after {limit:.0f} s")


async def _statuses(app: FastAPI) -> dict[str, int]:
    """How the notifier's deliveries ended (all `delivered` unless something was lost)."""
    from notifier.tables import Delivery

    query = select(Delivery.status, func.count()).group_by(col(Delivery.status))
    async with app.state.runtime.sessions() as session:
        return {str(status): int(n) for status, n in (await session.exec(query)).all()}


def _q(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1]


async def _paced(producer: Producer, receiver: str, before: int) -> dict[str, Any]:
    sent: dict[str, float] = {}
    divisions = county_codes()
    began = time.monotonic()
    for i in range(PACED_RATE * PACED_SECONDS):
        envelope = _alert(divisions[i % len(divisions)])
        sent[envelope.data["alert_id"]] = datetime.fromisoformat(
            envelope.data["raised_at"]
        ).timestamp()
        await producer.publish_many([("alerts.v1", envelope)])
        await asyncio.sleep(max(began + (i + 1) / PACED_RATE - time.monotonic(), 0))
    await _wait_count(receiver, before + 2 * len(sent), 120)
    rows = [r for r in await _delivered(receiver) if r[0] in sent]
    first: dict[tuple[str, str], tuple[float, bool]] = {}
    for subject, path, at, first_try in rows:
        first.setdefault((subject, path), (at, first_try))
    latency = [(at - sent[s]) * 1000 for (s, _p), (at, _f) in first.items()]
    direct = [(at - sent[s]) * 1000 for (s, _p), (at, f) in first.items() if f]
    return {
        "paced_alerts": len(sent),
        "paced_deliveries": len(first),
        "latency_p50_ms": _q(latency, 50),
        "latency_p99_ms": _q(latency, 99),
        "first_try_latency_p50_ms": _q(direct, 50),
        "first_try_latency_p99_ms": _q(direct, 99),
        "retried_share": 1 - len(direct) / max(len(first), 1),
    }


async def _throughput(producer: Producer, receiver: str, before: int) -> dict[str, Any]:
    divisions = county_codes()
    envelopes = [_alert(divisions[i % len(divisions)]) for i in range(THROUGHPUT_ALERTS)]
    subjects = {e.data["alert_id"] for e in envelopes}
    began = time.time()
    for start in range(0, len(envelopes), 500):
        await producer.publish_many([("alerts.v1", e) for e in envelopes[start : start + 500]])
    published = time.time() - began
    await _wait_count(receiver, before + 2 * len(subjects), 600)
    last = max(at for s, _p, at, _f in await _delivered(receiver) if s in subjects)
    seconds = last - began
    return {
        "throughput_alerts": len(subjects),
        "throughput_deliveries": 2 * len(subjects),
        "published_in_s": published,
        "all_delivered_after_s": seconds,
        "deliveries_per_s": 2 * len(subjects) / seconds,
    }


async def _bench(kafka: LocalKafka, data: Path, receiver: str, database: str) -> dict[str, Any]:
    from notifier.app import create_app

    env = EnvSettings(
        config=_config(data / "bench.toml", receiver),
        kafka_bootstrap=kafka.bootstrap,
        data_dir=data,
        consumer_group_prefix=f"bench-{uuid.uuid4().hex[:6]}",
        notifier_database_url=database,
    )
    app: FastAPI = create_app(ServiceSettings.load("notifier", env))
    producer = Producer(kafka.bootstrap, client_id="bench-notifier")
    await producer.start()
    try:
        async with app.router.lifespan_context(app):
            warm = _alert(county_codes()[0])  # the consumer group joins before timing
            await producer.publish_many([("alerts.v1", warm)])
            async with httpx.AsyncClient() as client:
                before = int((await client.get(f"{receiver}/count", timeout=30)).json())
            await _wait_count(receiver, before + 2, 60)
            figures = await _paced(producer, receiver, before + 2)
            paced = before + 2 + 2 * figures["paced_alerts"]
            figures |= await _throughput(producer, receiver, paced)
            figures["deliveries_by_status"] = await _statuses(app)
    finally:
        await producer.stop()
    figures["fail_ratio"] = FAIL_RATIO
    figures["peak_rss_mib"] = peak_rss_mib()
    return figures


def _postgres_available() -> bool:
    try:
        find_pg_bin()
    except (OSError, RuntimeError, ValueError):
        return False
    return True


def _run_one(database: str, out: Path) -> None:
    """One run (`--database sqlite|postgres`) with its own broker, receiver and database."""
    port = _free_port()
    receiver = multiprocessing.get_context("spawn").Process(
        target=_receiver, args=(port, FAIL_RATIO), daemon=True
    )
    receiver.start()
    try:
        with tempfile.TemporaryDirectory(prefix="hub-bench-notifier-") as tmp:
            data = Path(tmp)
            url = f"http://127.0.0.1:{port}"
            with LocalKafka(data / "kafka", partitions=6) as kafka:
                if database == "sqlite":
                    sqlite = f"sqlite+aiosqlite:///{data / 'notifier.db'}"
                    figures = asyncio.run(_bench(kafka, data, url, sqlite))
                else:
                    with LocalPostgres(data / "postgres") as pg:
                        db = pg.create_database("bench_notifier")
                        figures = asyncio.run(_bench(kafka, data, url, db))
    finally:
        receiver.terminate()
        receiver.join(10)
    out.write_text(json.dumps(figures))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--database":
        _run_one(sys.argv[2], Path(sys.argv[3]))
        return
    # Each database in a process of its own: a run must not inherit the last one's
    # threads, garbage or warm caches.
    results: dict[str, dict[str, Any]] = {}
    databases = ["sqlite", "postgres"] if _postgres_available() else ["sqlite"]
    with tempfile.TemporaryDirectory(prefix="hub-bench-notifier-") as tmp:
        for database in databases:
            out = Path(tmp) / f"{database}.json"
            command = [sys.executable, "-m", "hubtools.bench_notifier", "--database", database]
            subprocess.run([*command, str(out)], check=True)
            results[database] = json.loads(out.read_text())
    table = Table(title="notifier delivery (receiver failing 10%, one process, 2 cores)")
    table.add_column("figure")
    for name in results:
        table.add_column(name, justify="right")
    for key in results["sqlite"]:
        cells = [results[name].get(key) for name in results]
        table.add_row(key, *(f"{v:,.2f}" if isinstance(v, float) else str(v) for v in cells))
    console.print(table)
    out = Path("var/bench-notifier.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
