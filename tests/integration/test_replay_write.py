"""Replay's writer process against real databases: what it stores reads back through the
ORM unchanged (SQLite through INSERT with SQLAlchemy's bind processors, PostgreSQL through
COPY), and a failure on either side leaves nothing behind."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateTable
from sqlmodel import select

from enrollment.models import TABLES, Alert, Enrollment, WatchedPermit
from enrollment.rebuild import payload_json, raised_row
from enrollment.replay_rows import EnrollmentRow, OutboxRow, PermitRow
from enrollment.replay_write import BulkWriter, WriterFailed
from hub_shared.db import create_tables, make_engine, make_sessions, table_of
from hub_shared.outbox import OutboxMessage
from tests.support.alerts import DRAFT, NOW


def test_the_bulk_writer_stores_what_the_orm_reads_back(database_url: str) -> None:
    """On SQLite through its INSERT with SQLAlchemy's bind processors, on PostgreSQL
    through COPY."""
    enrollment = EnrollmentRow(
        "SI-P-1", "project", "3708112021031501", None, "某小区", "某小区", "91370812MA3L12T073",
        "施工单位", "370811", 0, date(2021, 1, 1), None, date(2026, 1, 2), "replayed", NOW,
    )  # fmt: skip
    permit = PermitRow(
        "3708112021031501", "e-1", 2, None, "某小区", "某小区", "370811", "91370812MA3L12T073",
        "施工单位", NOW, NOW, None,
    )  # fmt: skip
    alert = raised_row(DRAFT, NOW)
    outbox = OutboxRow("o-1", "alerts.v1", alert.alert_id, "t", "/s", alert.alert_id, NOW,
                       payload_json(alert), NOW, None, None)  # fmt: skip

    async def scenario() -> tuple[Enrollment, WatchedPermit, Alert, OutboxMessage]:
        engine = make_engine(database_url)
        await create_tables(engine, [*map(table_of, TABLES), table_of(OutboxMessage)])
        async with BulkWriter(database_url) as writer:
            for row in (enrollment, permit, alert, outbox):
                await writer.put([row])
        async with make_sessions(engine)() as session:
            found = (
                (await session.exec(select(Enrollment))).one(),
                (await session.exec(select(WatchedPermit))).one(),
                (await session.exec(select(Alert))).one(),
                (await session.exec(select(OutboxMessage))).one(),
            )
        await engine.dispose()
        return found

    stored_enrollment, stored_permit, stored_alert, stored_outbox = asyncio.run(scenario())
    assert stored_enrollment.model_dump() == enrollment._asdict()
    assert stored_permit.model_dump() == permit._asdict()
    assert stored_alert.model_dump() == alert._asdict()
    assert stored_outbox.id == 1 and stored_outbox.ce_time == NOW


async def _alert_count(engine: AsyncEngine) -> int:
    async with make_sessions(engine)() as session:
        count = len((await session.exec(select(Alert))).all())
    await engine.dispose()
    return count


def test_a_failed_bulk_write_leaves_nothing_behind(tmp_path: Path) -> None:
    """Indexes are built last (as replay does): the one-open-alert index refuses the twin
    then, and the whole transaction rolls back."""
    row = raised_row(DRAFT, NOW)
    twin = row._replace(alert_id="another")  # a second open alert for one subject
    alerts_table = table_of(Alert)

    async def scenario() -> int:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
        async with engine.begin() as conn:
            await conn.execute(CreateTable(alerts_table))

        async def write_both() -> None:
            async with BulkWriter(str(engine.url), indexes=list(alerts_table.indexes)) as writer:
                await writer.put([row])
                await writer.put([twin])

        with pytest.raises(WriterFailed, match="UNIQUE"):
            await write_both()
        return await _alert_count(engine)

    assert asyncio.run(scenario()) == 0


def test_a_reader_that_fails_midway_leaves_nothing_behind(tmp_path: Path) -> None:
    row = raised_row(DRAFT, NOW)

    async def scenario() -> int:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
        await create_tables(engine, [table_of(Alert)])

        async def fail_after_one_chunk() -> None:
            async with BulkWriter(str(engine.url)) as writer:
                await writer.put([row])
                raise RuntimeError("the broker went away")

        with pytest.raises(RuntimeError, match="broker"):
            await fail_after_one_chunk()
        return await _alert_count(engine)

    assert asyncio.run(scenario()) == 0
