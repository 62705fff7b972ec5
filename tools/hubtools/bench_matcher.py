"""`python -m hubtools.bench_matcher [--events N]`: replay N mixed events through the matcher.

Starts its own broker in a temporary directory, fills the topics with enterprises,
employer and project enrollments, permits and findings, then measures in one run:
- the raw aiokafka consume rate of the same records, before and after the replays (the
  faster of the two is the base of the ratio);
- `enrollment.replay` into SQLite, and into PostgreSQL (a throwaway cluster);
each replay in a child process, so its peak RSS is its own (and its writer process's, reported
beside it, with the CPU seconds of both). Figures are printed and written to
var/bench-matcher.json; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.table import Table

from hub_shared.config import EnvSettings, ServiceSettings
from hub_shared.envelope import Envelope, encode
from hub_shared.identifiers import USCC_ALPHABET, uscc_check_char
from hub_shared.memory import peak_rss_mib
from hub_shared.topics import topic_of
from hubtools.kafka import LocalKafka
from hubtools.postgres import LocalPostgres

console = Console()
COUNTIES = ["370811", "370812", "370826", "370827", "370828", "370829", "370830", "370831"]


def _uscc(rng: random.Random, division: str) -> str:
    body = "91" + division + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_char(body)


def generate(n: int, seed: int = 7) -> list[Envelope]:
    """Mixed events: 15% enterprises, 20% employer and 20% project enrollments, 40% permits,
    5% findings; about half the permits have a project enrollment."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    employers = [_uscc(rng, rng.choice(COUNTIES)) for _ in range(max(10, n // 20))]
    out: list[Envelope] = []
    day0 = date(2021, 1, 1)
    for i in range(n):
        roll = rng.random()
        uscc = rng.choice(employers)
        division = uscc[2:8]
        if roll < 0.15:
            industry = rng.choice(["47", "48", "06", "26", "36"])
            data: dict[str, Any] = {"uscc": uscc, "name": f"单位{uscc[-6:]}",
                                    "division_code": division, "industry_code": industry,
                                    "employees": 50}  # fmt: skip
            out.append(Envelope.new("enterprise.registered", source="/bench", data=data, key=uscc))
            continue
        permit_no = (
            f"{division}{(day0 + timedelta(days=i % 1400)).strftime('%Y%m%d')}{i % 10000:04d}"
        )
        if roll < 0.35:
            data = {"enrollment_id": f"SI-E-{i}", "kind": "employer", "employer_uscc": uscc,
                    "employer_name": "单位", "division_code": division, "insured_headcount": 30,
                    "valid_from": "2021-01-01"}  # fmt: skip
            out.append(Envelope.new("enrollment.registered", source="/bench", data=data, key=uscc))
        elif roll < 0.55:
            data = {"enrollment_id": f"SI-P-{i}", "kind": "project", "permit_no": permit_no,
                    "employer_uscc": uscc, "employer_name": "单位", "division_code": division,
                    "insured_headcount": 0, "valid_from": "2021-01-01"}  # fmt: skip
            out.append(Envelope.new("enrollment.registered", source="/bench", data=data, key=uscc))
        elif roll < 0.95:
            data = {"permit_no": permit_no, "project_name": f"项目{i}", "address": "济宁",
                    "division_code": division, "contract_price_wan": 100.0,
                    "planned_start": "2021-04-01", "planned_end": "2022-04-01",
                    "issued_at": "2021-03-15T09:30:00+08:00",
                    "builder": {"name": "建设单位", "uscc": rng.choice(employers)},
                    "contractor": {"name": "施工单位", "uscc": uscc},
                    "received_at": "2021-03-15T01:30:00+00:00", "source_id": "bench"}  # fmt: skip
            out.append(Envelope.new("permit.issued", source="/bench", data=data, key=permit_no))
        else:
            data = {"finding_id": f"F-{i}", "uscc": uscc, "name": "单位", "division_code": division,
                    "found_on": "2021-06-01", "source_department": "住建局"}  # fmt: skip
            out.append(Envelope.new("enterprise.uninsured", source="/bench", data=data, key=uscc))
    return out


async def produce(bootstrap: str, events: list[Envelope]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    began = time.perf_counter()
    try:
        pending = []
        for e in events:
            key, value, headers = encode(e)
            pending.append(
                await producer.send(topic_of(e.name).name, value, key=key, headers=headers)
            )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - began


async def raw_consume(bootstrap: str, topics: list[str], n: int) -> float:
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_poll_records=2000)  # fmt: skip
    await consumer.start()
    seen = 0
    began = time.perf_counter()
    try:
        while seen < n:
            got = await consumer.getmany(timeout_ms=1000, max_records=2000)
            seen += sum(len(v) for v in got.values())
    finally:
        await consumer.stop()
    return n / (time.perf_counter() - began)


def _replay_here(bootstrap: str, database_url: str, config: Path) -> None:
    """In the child process: one replay, its figures as one JSON line on stdout."""
    from enrollment.matching.rebuild import rebuild

    env = EnvSettings(config=config, kafka_bootstrap=bootstrap, data_dir=config.parent)
    settings = ServiceSettings.load("enrollment", env).model_copy(
        update={"database_url": database_url}
    )
    report = asyncio.run(rebuild(settings))
    me = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "events": report.events_applied, "seconds": report.seconds,
        "events_per_s": report.events_per_second, "staged": report.staged,
        "peak_rss_mib": peak_rss_mib(), "writer_peak_rss_mib": 0.0,
        "cpu_s": me.ru_utime + me.ru_stime, "writer_cpu_s": 0.0, "phases_s": {},
    }))  # fmt: skip


def _child(bootstrap: str, database_url: str, data_dir: Path) -> dict[str, Any]:
    """Run one replay in a child process, so that its peak RSS is its own."""
    config = data_dir / "bench.toml"
    config.write_text("[matching]\ngrace_seconds = 86400\n", encoding="utf-8")
    command = [sys.executable, "-m", "hubtools.bench_matcher", "--child-replay", database_url,
               "--bootstrap", bootstrap, "--config", str(config)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--child-replay", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_replay:
        _replay_here(args.bootstrap, args.child_replay, args.config)
        return
    figures: dict[str, Any] = {"events": args.events}
    with tempfile.TemporaryDirectory(prefix="hub-bench-matcher-") as tmp:
        data = Path(tmp)
        events = generate(args.events)
        topics = sorted({topic_of(e.name).name for e in events})
        # The broker with its full JIT (not the test suite's quick-start one), as in production.
        with LocalKafka(data / "kafka", partitions=6, fast_start=False) as kafka:
            figures["produce_s"] = asyncio.run(produce(kafka.bootstrap, events))
            del events
            raw = [asyncio.run(raw_consume(kafka.bootstrap, topics, args.events))]
            figures["sqlite"] = _child(
                kafka.bootstrap, f"sqlite+aiosqlite:///{data / 'm.db'}", data
            )
            if not args.skip_postgres:
                with LocalPostgres(data / "pg") as pg:
                    figures["postgres"] = _child(kafka.bootstrap, pg.create_database("bench"), data)
            # Once more after the replays: this machine's speed drifts, and the ratio is taken
            # against the faster of the two raw rates (the conservative base).
            raw.append(asyncio.run(raw_consume(kafka.bootstrap, topics, args.events)))
            figures["raw_consume_runs_per_s"] = raw
            figures["raw_consume_per_s"] = max(raw)
    figures["bench_process_peak_rss_mib"] = peak_rss_mib()
    table = Table(title=f"matcher replay of {args.events:,} mixed events (2 cores)")
    columns = ("backend", "events/s", "ratio to raw consume", "peak RSS MiB (reader + writer)",
               "CPU s (reader + writer)", "staged")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    for backend in ("sqlite", "postgres"):
        if backend in figures:
            f = figures[backend]
            table.add_row(backend, f"{f['events_per_s']:,.0f}",
                          f"{f['events_per_s'] / figures['raw_consume_per_s']:.1%}",
                          f"{f['peak_rss_mib']:,.0f} + {f['writer_peak_rss_mib']:,.0f}",
                          f"{f['cpu_s']:,.1f} + {f['writer_cpu_s']:,.1f}",
                          str(f["staged"]))  # fmt: skip
    console.print(table)
    runs = " and ".join(f"{r:,.0f}" for r in figures["raw_consume_runs_per_s"])
    console.print(f"raw aiokafka consume: {runs} records/s (before and after the replays)")
    for backend in ("sqlite", "postgres"):
        if backend in figures:
            phases = figures[backend]["phases_s"].items()
            console.print(f"{backend} phases: " + "; ".join(f"{k} {v:.1f} s" for k, v in phases))
    out = Path("var/bench-matcher.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
