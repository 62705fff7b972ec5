"""Enterprise import against the real broker and database: a file of good and bad rows
becomes enterprises, per-row errors and one `enterprise.registered` per good row on
enterprises.v1; importing it again publishes nothing; jobs survive a restart."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import Workbook
from sqlmodel import col, func, select

from enrollment.app import create_app
from enrollment.imports.api import import_router
from enrollment.imports.importer import CSV, XLSX
from enrollment.tables import Enterprise, ImportJob
from hub_shared.domain.identifiers import uscc_check_char
from hub_shared.import_jobs.jobs import INTERRUPTED
from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.runtime import ServiceRuntime
from hubtools.kafka import LocalKafka
from tests.support.hub import (
    AGENCY_TOKEN,
    COUNTY_AGENCY_TOKEN,
    EMERGENCY_TOKEN,
    bearer,
    running,
    settings_for,
    topic_records,
    wait_for,
    write_config,
)

HEADER = "uscc,name,division_code,industry_code,employees"


@dataclass
class Service:
    app: FastAPI
    client: httpx.AsyncClient
    kafka: LocalKafka

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime


def build(kafka: LocalKafka, database_url: str, tmp_path: Path) -> FastAPI:
    """enrollment as app.py builds it, plus the import router (until app.py includes it)."""
    config = write_config(tmp_path / "hub.toml")
    settings = settings_for(
        "enrollment",
        config=config,
        bootstrap=kafka.bootstrap,
        database_url=database_url,
        data_dir=tmp_path,
    )
    app = create_app(settings)
    app.include_router(import_router)
    return app


@pytest.fixture
async def service(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    app = build(kafka, database_url, tmp_path)
    async with running(app) as client:
        yield Service(app, client, kafka)


def usccs(count: int, division: str = "370811") -> list[str]:
    """USCCs no other test uses (the broker and its topics live for the whole session)."""
    stem = f"91{division}{uuid.uuid4().int % 10**4:04d}"
    return [f"{stem}{n:05d}" + uscc_check_char(f"{stem}{n:05d}") for n in range(count)]


def csv_body(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def upload(body: bytes, media: str = CSV, token: str = AGENCY_TOKEN) -> dict[str, Any]:
    return {"content": body, "headers": {**bearer(token), "Content-Type": media}}


async def finished(service: Service, answer: httpx.Response) -> dict[str, Any]:
    """The final report: polled from status_url until the job is no longer running."""
    assert answer.status_code == 202, answer.text
    url = answer.json()["status_url"]

    async def report() -> dict[str, Any]:
        response = await service.client.get(url, headers=bearer(AGENCY_TOKEN))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return {} if body["status"] == "running" else body

    return await wait_for(report, what="the import to finish")


async def enterprise_events(kafka: LocalKafka, wanted: set[str]) -> list[tuple[str, str, Any]]:
    """(uscc, event name, data) of every enterprises.v1 record keyed by one of `wanted`."""
    out = []
    for record in await topic_records(kafka.bootstrap, "enterprises.v1"):
        key = record.key.decode()
        if key in wanted:
            ce_type = dict(record.headers)["ce_type"].decode()
            out.append((key, ce_type.removeprefix("cn.gov.jining.hub."), json.loads(record.value)))
    return out


async def outbox_rows(service: Service, keys: set[str]) -> int:
    async with service.runtime.sessions() as session:
        query = select(func.count()).where(col(OutboxMessage.key).in_(keys))
        return int((await session.exec(query)).one())


async def test_import_applies_good_rows_reports_bad_ones_and_publishes_each_change_once(
    service: Service,
) -> None:
    a, b, c, unknown_division = usccs(4)
    bad_check = a[:17] + ("0" if a[17] != "0" else "1")
    body = csv_body(
        f"{a},甲公司（旧名）,370811,E47,10",  # row 2: superseded by row 7
        f"{b},乙公司,370811,48,20",  # row 3
        f"{bad_check},坏校验码公司,370811,47,1",  # row 4
        f"{c},丙公司,370883,4711,30",  # row 5
        f"{unknown_division},外地公司,110101,47,1",  # row 6
        f"{a},甲公司,370811,E47,11",  # row 7
    )
    answer = await service.client.post("/v1/enterprises:import", **upload(body))
    assert answer.json()["status"] == "running"
    assert answer.headers["location"] == answer.json()["status_url"]
    report = await finished(service, answer)

    assert report["status"] == "done", report
    counts = {k: report[k] for k in ("rows_total", "rows_done", "created", "updated", "unchanged")}
    assert counts == {"rows_total": 6, "rows_done": 6, "created": 3, "updated": 0, "unchanged": 0}
    assert (report["rows_failed"], report["duplicates"], report["error_count"]) == (2, 1, 2)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (4, "uscc"),
        (6, "division_code"),
    ]
    assert "check character" in report["errors"][0]["msg"]
    assert [(w["row"], w["column"]) for w in report["warnings"]] == [(2, "uscc")]
    assert report["started_at"] and report["finished_at"]

    async with service.runtime.sessions() as session:
        stored = (
            await session.exec(select(Enterprise).where(col(Enterprise.uscc).in_([a, b, c])))
        ).all()
    assert {(e.uscc, e.name, e.industry_code, e.employees) for e in stored} == {
        (a, "甲公司", "47", 11),
        (b, "乙公司", "48", 20),
        (c, "丙公司", "47", 30),
    }

    mine = {a, b, c, unknown_division, bad_check}

    async def three_published() -> list[tuple[str, str, Any]]:
        events = await enterprise_events(service.kafka, mine)
        return events if len(events) >= 3 else []

    events = await wait_for(three_published, what="enterprise.registered for the good rows")
    assert sorted((key, name) for key, name, _ in events) == sorted(
        (u, "enterprise.registered") for u in (a, b, c)
    )
    assert next(data for key, _, data in events if key == a)["name"] == "甲公司"

    again = await service.client.post("/v1/enterprises:import?wait=true", **upload(body))
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["unchanged"], again.json()["error_count"]) == (
        0,
        3,
        2,
    )
    assert await outbox_rows(service, mine) == 3
    await wait_for(lambda: _nothing_pending(service), what="the outbox to drain")
    assert len(await enterprise_events(service.kafka, mine)) == 3

    changed = csv_body(f"{a},甲公司,370811,E47,12", f"{b},乙公司,370811,48,20")
    third = await service.client.post("/v1/enterprises:import?wait=true", **upload(changed))
    assert (third.json()["updated"], third.json()["unchanged"]) == (1, 1)

    async def updated() -> list[tuple[str, str, Any]]:
        events = await enterprise_events(service.kafka, mine)
        return [e for e in events if e[1] == "enterprise.updated"]

    assert [(k, d["employees"]) for k, _, d in await wait_for(updated, what="update")] == [(a, 12)]


async def _nothing_pending(service: Service) -> bool:
    return await service.runtime.relay.pending() == 0


async def test_xlsx_and_gb18030_files_with_chinese_headers_import(service: Service) -> None:
    x1, x2, g1 = usccs(3)
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.append(["济宁市企业名录"])
    sheet.append(["行业代码", "统一社会信用代码", "单位名称", "从业人数（人）", "行政区划代码"])
    sheet.append(["E47", x1, "任城甲建设有限公司", 120, 370811])
    sheet.append(["C99", x2, "任城乙公司", 5, 370811])
    out = io.BytesIO()
    wb.save(out)
    answer = await service.client.post(
        "/v1/enterprises:import?wait=true", **upload(out.getvalue(), XLSX)
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["status"], report["created"], report["rows_total"]) == ("done", 1, 2)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(4, "industry_code")]

    gbk = csv_body(
        f"{g1},兖州丙矿业有限公司,370812,B06,35",
        header="统一社会信用代码,企业名称,行政区划代码,行业代码,从业人数",
        encoding="gb18030",
    )
    answer = await service.client.post("/v1/enterprises:import?wait=true", **upload(gbk))
    assert (answer.json()["status"], answer.json()["created"]) == ("done", 1)
    async with service.runtime.sessions() as session:
        stored = await session.get(Enterprise, g1)
    assert stored is not None and stored.name == "兖州丙矿业有限公司"

    errors = await service.client.get(
        f"/v1/enterprises/imports/{report['import_id']}/errors.csv", headers=bearer(AGENCY_TOKEN)
    )
    assert errors.status_code == 200
    assert errors.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "column", "level", "message"]
    assert [r[:3] for r in rows[1:]] == [["4", "industry_code", "error"]]


async def test_county_client_cannot_import_or_move_enterprises_outside_its_county(
    service: Service,
) -> None:
    (yanzhou,) = usccs(1, "370812")
    (rencheng, other) = usccs(2)
    city = await service.client.post(
        "/v1/enterprises:import?wait=true",
        **upload(csv_body(f"{yanzhou},兖州公司,370812,47,1")),
    )
    assert city.json()["created"] == 1
    county_file = csv_body(
        f"{rencheng},任城公司,370811,47,1",  # row 2: its own county
        f"{other},邹城公司,370883,47,1",  # row 3: another county
        f"{yanzhou},兖州公司,370811,47,1",  # row 4: moves an enterprise of another county
    )
    answer = await service.client.post(
        "/v1/enterprises:import?wait=true", **upload(county_file, token=COUNTY_AGENCY_TOKEN)
    )
    report = answer.json()
    assert (report["created"], report["rows_failed"]) == (1, 2)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (3, "division_code"),
        (4, "division_code"),
    ]
    assert all("outside this credential's divisions" in e["msg"] for e in report["errors"])
    async with service.runtime.sessions() as session:
        moved = await session.get(Enterprise, yanzhou)
    assert moved is not None and moved.division_code == "370812"
    # Another client's job is not visible to it.
    foreign = await service.client.get(report["status_url"], headers=bearer(AGENCY_TOKEN))
    assert foreign.status_code == 404


async def test_rejected_uploads_change_nothing(service: Service) -> None:
    (u,) = usccs(1)
    good = csv_body(f"{u},甲公司,370811,47,1")
    cases = [
        (upload(good, "application/json"), 415),
        (upload(b"not a workbook", XLSX), 400),
        (upload(csv_body(f"{u},甲公司", header="uscc,name")), 422),
        ({"content": good, "headers": {"Content-Type": CSV}}, 401),
        (upload(good, token=EMERGENCY_TOKEN), 403),
    ]
    for request, status in cases:
        response = await service.client.post("/v1/enterprises:import", **request)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
    missing = await service.client.post("/v1/enterprises:import", **cases[2][0])
    assert [e["loc"][-1] for e in missing.json()["errors"]] == [
        "division_code",
        "industry_code",
        "employees",
    ]
    async with service.runtime.sessions() as session:
        jobs = (await session.exec(select(func.count()).select_from(ImportJob))).one()
    assert jobs == 0
    assert await outbox_rows(service, {u}) == 0
    unknown = await service.client.get(
        f"/v1/enterprises/imports/{uuid.uuid4()}", headers=bearer(AGENCY_TOKEN)
    )
    assert unknown.status_code == 404


def dead_job(import_id: str) -> ImportJob:
    """A job as a process that died mid-import leaves it: running, heartbeat long gone."""
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    return ImportJob(
        import_id=import_id,
        client_id="agency",
        media_type=CSV,
        status="running",
        started_at=long_ago,
        heartbeat_at=long_ago,
    )


async def test_jobs_cut_short_by_shutdown_or_a_dead_process_are_reported_failed(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> None:
    died_before, died_now = str(uuid.uuid4()), str(uuid.uuid4())
    # Big enough that reading it is still under way when the app shuts down.
    big = csv_body(*(f"{u},公司{n},370811,47,1" for n, u in enumerate(usccs(50_000))))
    first = build(kafka, database_url, tmp_path)
    async with running(first) as client:
        runtime: ServiceRuntime = first.state.runtime
        async with runtime.sessions() as session, session.begin():
            session.add(dead_job(died_before))
        answer = await client.post("/v1/enterprises:import", **upload(big))
        assert answer.status_code == 202
    second = build(kafka, database_url, tmp_path)
    async with running(second) as client:
        runtime = second.state.runtime
        async with runtime.sessions() as session:
            dead = await session.get(ImportJob, died_before)
            cut = await session.get(ImportJob, answer.json()["import_id"])
        assert dead is not None and (dead.status, dead.message) == ("failed", INTERRUPTED)
        assert cut is not None
        assert (cut.status, cut.message) == ("failed", "interrupted by shutdown; re-submit")
        # A job whose process dies while this one runs is found stale when asked about.
        async with runtime.sessions() as session, session.begin():
            session.add(dead_job(died_now))
        report = await client.get(
            f"/v1/enterprises/imports/{died_now}", headers=bearer(AGENCY_TOKEN)
        )
        assert (report.json()["status"], report.json()["message"]) == ("failed", INTERRUPTED)
