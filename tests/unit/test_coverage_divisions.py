"""Divisions apply to every coverage read, and an unknown permit or enterprise answers as
one in another division does. An enrollment registered in one county covers, and resolves
the alert of, a permit in another: coverage follows the employer, not the office."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from enrollment.matching import driver
from enrollment.matching.names import name_key
from enrollment.matching.rules import Policy
from enrollment.registry import coverage
from enrollment.tables import TABLES, Alert, Enrollment, Enterprise, WatchedPermit
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.messaging.processed_events import ProcessedEvent, apply_batch
from hub_shared.storage.db import (
    SessionFactory,
    create_tables,
    make_engine,
    make_sessions,
    table_of,
)
from hub_shared.web.auth import Principal
from hub_shared.web.errors import NotFound

RENCHENG, WEISHAN, YUTAI, CITY = "370811", "370826", "370827", "370800"
WEISHAN_PERMIT = "370826202103150101"
CONTRACTOR = "91370812MA3L12T073"
ELSEWHERE = "91370827MA3C4YQX4H"  # registered in 鱼台县 only


def reader(division: str) -> Principal:
    return Principal(f"agency-{division}", "client", frozenset({"coverage:read"}), (division,))


@asynccontextmanager
async def database(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'coverage.db'}")
    tables = [table_of(m) for m in (*TABLES, OutboxMessage, ProcessedEvent)]
    await create_tables(engine, tables)
    try:
        yield make_sessions(engine)
    finally:
        await engine.dispose()


def enrollment(**overrides: Any) -> dict[str, Any]:
    """A project enrollment registered by 任城区's office, for 微山县's permit."""
    return {
        "enrollment_id": "SI-RC-1",
        "kind": "project",
        "permit_no": WEISHAN_PERMIT,
        "project_code": None,
        "project_name": "微山湖大桥",
        "employer_uscc": CONTRACTOR,
        "employer_name": "山东鲁班建设集团有限公司",
        "division_code": RENCHENG,
        "insured_headcount": 0,
        "valid_from": (date.today() - timedelta(days=30)).isoformat(),
        "valid_to": None,
        "terminated_on": None,
    } | overrides


async def seed(sessions: SessionFactory) -> None:
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        session.add(
            WatchedPermit(
                permit_no=WEISHAN_PERMIT,
                event_id="e1",
                project_name="微山湖大桥",
                project_name_key=name_key("微山湖大桥"),
                division_code=WEISHAN,
                contractor_uscc=CONTRACTOR,
                contractor_name="山东鲁班建设集团有限公司",
                received_at=now,
                due_at=now,
            )
        )
        e = enrollment()
        session.add(
            Enrollment(
                **e
                | {
                    "project_name_key": name_key(e["project_name"]),
                    "valid_from": date.fromisoformat(e["valid_from"]),
                    "content_hash": "h",
                }
            )
        )
        session.add(
            Enterprise(
                uscc=ELSEWHERE,
                name="鱼台某公司",
                division_code=YUTAI,
                industry_code="47",
                employees=5,
            )
        )


async def test_another_countys_permit_and_an_unknown_one_answer_alike(tmp_path: Path) -> None:
    async with database(tmp_path) as sessions:
        await seed(sessions)
        async with sessions() as session:
            with pytest.raises(NotFound) as known:
                await coverage.of_permit(session, WEISHAN_PERMIT, reader(RENCHENG))
            unknown_no = "370826202103159999"
            with pytest.raises(NotFound) as unknown:
                await coverage.of_permit(session, unknown_no, reader(RENCHENG))
            own_unknown = await coverage.of_permit(session, "370811202103159999", reader(RENCHENG))
            odd_form = "XK-2021-0001"  # names no division: only the city learns it is unknown
            with pytest.raises(NotFound):
                await coverage.of_permit(session, odd_form, reader(RENCHENG))
            city = await coverage.of_permit(session, odd_form, reader(CITY))

    assert str(known.value) == f"no permit {WEISHAN_PERMIT} in your divisions"
    assert str(unknown.value) == f"no permit {unknown_no} in your divisions"
    assert own_unknown.covered is False
    assert city.covered is False


async def test_an_enterprise_is_read_only_where_it_is_known(tmp_path: Path) -> None:
    async with database(tmp_path) as sessions:
        await seed(sessions)
        async with sessions() as session:
            for outsider, uscc in ((RENCHENG, ELSEWHERE), (RENCHENG, "91370883MA371HU01U")):
                with pytest.raises(NotFound, match=f"no enterprise {uscc} in your divisions"):
                    await coverage.of_enterprise(session, uscc, reader(outsider))
            registered = await coverage.of_enterprise(session, ELSEWHERE, reader(YUTAI))
            enrolled = await coverage.of_enterprise(session, CONTRACTOR, reader(RENCHENG))
            building = await coverage.of_enterprise(session, CONTRACTOR, reader(WEISHAN))
            unknown = await coverage.of_enterprise(session, "91370883MA371HU01U", reader(CITY))

    assert [registered.covered, enrolled.covered, building.covered] == [False, False, False]
    assert unknown.explanation == "未找到该单位的用人单位参保记录"


async def test_an_enrollment_from_another_county_covers_the_permit(tmp_path: Path) -> None:
    async with database(tmp_path) as sessions:
        await seed(sessions)
        async with sessions() as session:
            answer = await coverage.of_permit(session, WEISHAN_PERMIT, reader(WEISHAN))

    assert (answer.covered, answer.by) == (True, ["SI-RC-1"])


def test_an_enrollment_from_another_county_resolves_the_alert(tmp_path: Path) -> None:
    permit = {
        "permit_no": WEISHAN_PERMIT,
        "project_code": None,
        "project_name": "微山湖大桥",
        "address": "微山县",
        "division_code": WEISHAN,
        "contract_price_wan": 10.0,
        "planned_start": "2021-04-01",
        "planned_end": "2022-04-01",
        "issued_at": "2021-03-15T09:30:00+08:00",
        "builder": {"name": "建设单位", "uscc": ELSEWHERE},
        "contractor": {"name": "山东鲁班建设集团有限公司", "uscc": CONTRACTOR},
        "received_at": "2021-03-15T01:30:00+00:00",
        "source_id": "t",
        "revision": 1,
    }

    async def run() -> list[tuple[str, str, str | None]]:
        policy = Policy(source="/hub/enrollment", grace_seconds=0)
        handler = driver.batch_handler(policy)
        statuses = []
        async with database(tmp_path) as sessions:
            for event in (
                Envelope.new("permit.issued", source="/t", data=permit, key=WEISHAN_PERMIT),
                Envelope.new("enrollment.registered", source="/t", data=enrollment(), key="k"),
            ):
                await apply_batch(sessions, handler, "matcher", [("t", event)])
                async with sessions() as session, session.begin():
                    await driver.judge_due(session, policy)
                async with sessions() as session:
                    alert = (await session.exec(select(Alert))).one()
                statuses.append((alert.division_code, alert.status, alert.resolution))
        return statuses

    assert asyncio.run(run()) == [(WEISHAN, "open", None), (WEISHAN, "resolved", "SI-RC-1")]
