"""`make bench` (`python -m hubtools.bench`): the live paths of the hub, measured and reported
in one table (and var/bench.json), never asserted. Every ratio's base is measured in the
same run, on the same machine:

- intake: permit-ingest (a uvicorn process; SQLite, then PostgreSQL) against a bare FastAPI
  app validating the same model: 32 connections closed-loop, an open loop at a fixed rate,
  and the NDJSON batch endpoint;
- end to end: accidents at uninsured employers posted open-loop to the four services as
  processes, timed from schedule to the alert's webhook at an office receiver;
- backlog: the enrollment service consuming mixed events from launch until its committed
  offsets reach the end, against raw aiokafka, and a Quix Streams peer of the permit check.

Each part gets its own broker (Kafka 4.3.1 from the jars) in a temporary directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from hubtools import bench_backlog as backlog
from hubtools import bench_wrk
from hubtools.bench_e2e import E2eOptions, run_e2e
from hubtools.bench_intake import IntakeOptions, run_intake
from hubtools.bench_table import render
from hubtools.kafka import LocalKafka
from hubtools.postgres import LocalPostgres

PARTS = ("intake", "e2e", "backlog")
console = Console()
if not console.is_terminal:  # a log file or a pipe: wide enough for the table's rows
    console = Console(width=180)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS)
    )
    parser.add_argument(
        "--events", type=int, default=int(os.environ.get("BENCH_EVENTS", "1000000"))
    )
    parser.add_argument("--intake-seconds", type=float, default=10.0)
    parser.add_argument("--open-rate", type=float, default=500.0)
    parser.add_argument("--open-seconds", type=float, default=10.0)
    parser.add_argument("--e2e-rate", type=float, default=200.0)
    parser.add_argument("--e2e-seconds", type=float, default=60.0)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("var/bench.json"))
    return parser.parse_args()  # fmt: skip


@contextlib.contextmanager
def _broker(data: Path) -> Iterator[LocalKafka]:
    """A fresh broker with its full JIT (not the test suite's quick-start one)."""
    with LocalKafka(data, partitions=6, fast_start=False) as kafka:
        yield kafka


def _backlog(data: Path, events: int, pg: LocalPostgres | None, peer: bool) -> dict[str, Any]:
    with _broker(data / "kafka") as kafka:
        out: dict[str, Any] = backlog.fill(kafka.bootstrap, events)
        expected = backlog.expected(events)
        raw = [backlog.raw_rate(kafka.bootstrap, events)]
        urls = {"sqlite": f"sqlite+aiosqlite:///{data / 'enrollment.db'}"}
        if pg is not None:
            urls["postgres"] = pg.create_database("bench_backlog")
        hub_sets: list[set[str]] = []
        for backend, url in urls.items():
            figures, found = backlog.run_service(kafka.bootstrap, data, backend, url, events)
            out[backend] = figures | {"set": backlog.compare(found, expected)}
            hub_sets.append(found)
        if peer:
            figures, found = backlog.run_peer(kafka.bootstrap, data, timeout=3600)
            out["peer"] = figures | {"set": backlog.compare(found, expected)}
            out["sets_agree"] = all(found == s for s in hub_sets)
        # Again after the runs: this machine's speed drifts, and the faster raw rate is the
        # conservative base.
        raw.append(backlog.raw_rate(kafka.bootstrap, events))
        out["raw_consume_runs_per_s"] = raw
        out["raw_consume_per_s"] = max(raw)
    return out


def main() -> None:
    args = _arguments()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown parts {sorted(unknown)}; known: {', '.join(PARTS)}")
    if "intake" in parts and not bench_wrk.available():
        console.print(f"[yellow]{bench_wrk.INSTALL_HINT}; closed loop falls back to asyncio[/]")
    figures: dict[str, Any] = {"parts": parts}
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp, contextlib.ExitStack() as stack:
        data = Path(tmp)
        pg = None if args.skip_postgres else stack.enter_context(LocalPostgres(data / "pg"))
        if "intake" in parts:
            options = IntakeOptions(seconds=args.intake_seconds, open_rate=args.open_rate,
                                    open_seconds=args.open_seconds)  # fmt: skip
            with _broker(data / "intake-kafka") as kafka:
                pg_url = pg.create_database("bench_intake") if pg else None
                figures["intake"] = run_intake(kafka.bootstrap, data / "intake", options, pg_url)
        if "e2e" in parts:
            with _broker(data / "e2e-kafka") as kafka:
                e2e = E2eOptions(rate=args.e2e_rate, seconds=args.e2e_seconds)
                figures["e2e"] = run_e2e(kafka.bootstrap, data / "e2e", e2e)
        if "backlog" in parts:
            figures["backlog"] = _backlog(data / "backlog", args.events, pg, not args.skip_peer)
    console.print(render(figures))
    if tracing := figures.get("intake", {}).get("tracing"):
        console.print(
            f"tracing on intake (SQLite, closed loop): {tracing['off_req_per_s']:.0f} req/s off, "
            f"{tracing['on_req_per_s']:.0f} req/s on: {tracing['overhead_pct']:.1f} % overhead"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))
    console.print(f"figures written to {args.out}")


if __name__ == "__main__":
    main()
