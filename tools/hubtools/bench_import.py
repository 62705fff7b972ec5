"""`python -m hubtools.bench_import`: the enterprise import at 100,000 rows, measured and
reported, never asserted (too slow for CI).

Starts its own broker (Kafka 4.3.1 from the jars) in a temporary directory, runs enrollment
in this process on SQLite with the import router, posts a generated file of valid rows
(valid USCCs) to `POST /v1/enterprises:import`, polls the job until done, waits for the
outbox to publish every `enterprise.registered`, then imports the same file again (all rows
unchanged, nothing published). `--xlsx` posts the rows as a workbook instead of CSV.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from openpyxl import Workbook
from rich.console import Console
from rich.table import Table

from hub_shared.config import EnvSettings, ServiceSettings
from hub_shared.domain.divisions import county_codes
from hub_shared.domain.identifiers import uscc_check_char
from hub_shared.memory import peak_rss_mib
from hub_shared.runtime import ServiceRuntime
from hubtools.kafka import LocalKafka

TOKEN = "bench-agency-token"  # noqa: S105 - a throwaway bench client
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["统一社会信用代码", "企业名称", "行政区划代码", "行业代码", "从业人数"]
INDUSTRIES = ("E47", "48", "4811", "B06", "C26", "2614", "G54", "C33")
console = Console()


def _config(path: Path) -> Path:
    path.write_text(
        f"""
[[clients]]
id = "bench-agency"
token = "{TOKEN}"
scopes = ["enterprises:write"]
divisions = ["370800"]
""",
        encoding="utf-8",
    )
    return path


def _rows(count: int) -> list[list[object]]:
    counties = county_codes()
    out: list[list[object]] = []
    for i in range(count):
        division = counties[i % len(counties)]
        body = f"91{division}{i:09d}"
        industry = INDUSTRIES[i % len(INDUSTRIES)]
        out.append(
            [body + uscc_check_char(body), f"基准企业{i}有限公司", division, industry, i % 500]
        )
    return out


def _file(rows: list[list[object]], media: str) -> bytes:
    if media == CSV:
        lines = [",".join(HEADER), *(",".join(str(c) for c in row) for row in rows)]
        return ("\r\n".join(lines) + "\r\n").encode("gb18030")
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("企业名录")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def _import(client: httpx.AsyncClient, body: bytes, media: str) -> tuple[float, float, Any]:
    """Seconds to the 202, seconds to done, and the final report."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": media}
    began = time.perf_counter()
    answer = await client.post("/v1/enterprises:import", content=body, headers=headers)
    accepted = time.perf_counter() - began
    if answer.status_code != 202:
        raise RuntimeError(f"import refused: {answer.status_code} {answer.text}")
    while True:
        report = (await client.get(answer.json()["status_url"], headers=headers)).json()
        if report["status"] != "running":
            return accepted, time.perf_counter() - began, report
        await asyncio.sleep(0.2)


async def _bench(kafka: LocalKafka, data: Path, count: int, media: str) -> dict[str, Any]:
    from enrollment.app import create_app
    from enrollment.imports.api import import_router

    env = EnvSettings(
        config=_config(data / "bench.toml"),
        kafka_bootstrap=kafka.bootstrap,
        data_dir=data,
        consumer_group_prefix=f"bench-{uuid.uuid4().hex[:6]}",
        enrollment_database_url=f"sqlite+aiosqlite:///{data / 'enrollment.db'}",
    )
    app: FastAPI = create_app(ServiceSettings.load("enrollment", env))
    app.include_router(import_router)
    began = time.perf_counter()
    body = _file(_rows(count), media)
    generated_s = time.perf_counter() - began
    rss_before = peak_rss_mib()
    async with app.router.lifespan_context(app):
        runtime: ServiceRuntime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            posted = time.perf_counter()
            accepted_s, done_s, first = await _import(client, body, media)
            while await runtime.relay.pending():  # noqa: ASYNC110 - polls a table
                await asyncio.sleep(0.2)
            published_s = time.perf_counter() - posted
            _, again_s, second = await _import(client, body, media)
    if first["created"] != count or second["unchanged"] != count:
        raise RuntimeError(f"unexpected reports: {first} / {second}")
    return {
        "rows": count,
        "format": "xlsx" if media == XLSX else "csv (GB18030, Chinese headers)",
        "file_mib": len(body) / 2**20,
        "file_generated_in_s": generated_s,
        "answered_202_after_s": accepted_s,
        "import_done_after_s": done_s,
        "import_rows_per_s": count / done_s,
        "all_events_published_after_s": published_s,
        "reimport_unchanged_done_after_s": again_s,
        "reimport_rows_per_s": count / again_s,
        "peak_rss_before_import_mib": rss_before,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--xlsx", action="store_true", help="post an XLSX workbook, not CSV")
    args = parser.parse_args()
    media = XLSX if args.xlsx else CSV
    with tempfile.TemporaryDirectory(prefix="hub-bench-import-") as tmp:
        data = Path(tmp)
        with LocalKafka(data / "kafka", partitions=6) as kafka:
            figures = asyncio.run(_bench(kafka, data, args.rows, media))
    table = Table(title="enterprise import (enrollment in-process, SQLite, real Kafka)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,.1f}" if isinstance(value, float) else str(value))
    console.print(table)
    out = Path("var/bench-import.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
