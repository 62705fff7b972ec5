"""Replay's writer process against real databases: what it stores reads back through the
ORM unchanged (SQLite through INSERT with SQLAlchemy's bind processors, PostgreSQL through
COPY), and a failure on either side leaves nothing behind."""

from __future__ import annotations

import asyncio
import fcntl
import os
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateTable
from sqlmodel import select

from enrollment.models import TABLES, Alert, Enrollment, WatchedPermit
from enrollment.replay_alerts import raised_row
from enrollment.replay_outbox import payload_json
from enrollment.replay_rows import AlertRow, EnrollmentRow, PermitRow, finished
from enrollment.replay_write import BulkWriter, WriterFailed, _widen
from hub_shared.db import create_tables, make_engine, make_sessions, table_of
from hub_shared.outbox import OutboxMessage
from hub_shared.topics import event_type
from tests.support.alerts import DRAFT, NOW

LATER = NOW + timedelta(hours=1)


def test_the_bulk_writer_stores_what_the_orm_reads_back(database_url: str) -> None:
    """On SQLite through its INSERT with SQLAlchemy's bind processors, on PostgreSQL
    through COPY; the outbox row of a staged alert is the writer's own, its payload the
    alert's state."""
    enrollment = EnrollmentRow(
        "SI-P-1", "project", "3708112021031501", None, "某小区", "某小区", "91370812MA3L12T073",
        "施工单位", "370811", 0, date(2021, 1, 1), None, date(2026, 1, 2), "replayed", NOW,
    )  # fmt: skip
    permit = PermitRow(  # as folded: finished as judged (name key, grace period)
        "3708112021031501", "e-1", 2, None, "济宁市某小区（二期）", "", "370811",
        "91370812MA3L12T073", "施工单位", NOW, NOW, None,
    )  # fmt: skip
    fresh = permit._replace(permit_no="3708112021031502", received_at=LATER)  # not due yet
    alert = raised_row(DRAFT, NOW)
    quiet = raised_row(replace(DRAFT, subject_key="another"), NOW)  # stages nothing

    async def scenario() -> tuple[
        Enrollment, list[WatchedPermit], list[Alert], list[OutboxMessage]
    ]:
        engine = make_engine(database_url)
        await create_tables(engine, [*map(table_of, TABLES), table_of(OutboxMessage)])
        async with BulkWriter(database_url) as writer:
            await writer.put([enrollment])
            await writer.put([finished(p, timedelta(minutes=30), LATER) for p in (permit, fresh)])
            await writer.put_alerts([alert, quiet], ["alert.raised", None], "/hub/e", LATER)
        assert writer.rows_written == 6
        async with make_sessions(engine)() as session:
            found = (
                (await session.exec(select(Enrollment))).one(),
                list((await session.exec(select(WatchedPermit).order_by("permit_no"))).all()),
                list((await session.exec(select(Alert).order_by(Alert.subject_key))).all()),
                list((await session.exec(select(OutboxMessage))).all()),
            )
        await engine.dispose()
        return found

    stored_enrollment, stored_permits, stored_alerts, stored_outbox = asyncio.run(scenario())
    assert stored_enrollment.model_dump() == enrollment._asdict()
    due = permit._replace(
        project_name_key="某小区二期", due_at=NOW + timedelta(minutes=30), checked_at=LATER
    )
    waiting = fresh._replace(project_name_key="某小区二期", due_at=LATER + timedelta(minutes=30))
    assert [p.model_dump() for p in stored_permits] == [due._asdict(), waiting._asdict()]
    assert [a.model_dump() for a in stored_alerts] == [alert._asdict(), quiet._asdict()]
    (message,) = stored_outbox
    assert (message.topic, message.key, message.ce_subject) == ("alerts.v1", *[alert.alert_id] * 2)
    assert (message.ce_type, message.ce_source) == (event_type("alert.raised"), "/hub/e")
    assert message.ce_time == message.created_at == LATER and message.sent_at is None
    assert message.payload == payload_json(alert)
    assert message.id == 1


def test_a_column_null_throughout_a_chunk_is_left_out_and_reads_back_null(
    database_url: str,
) -> None:
    """The writer leaves such a column out of its INSERT or COPY; the chunks of one row type
    that do and do not leave it out, inserted or replacing rows, all read back as sent."""
    ended = EnrollmentRow(
        "SI-E-1", "employer", None, None, None, None, "91370812MA3L12T073", "某单位",
        "370811", 5, date(2021, 1, 1), date(2025, 12, 31), date(2025, 6, 1), "replayed", NOW,
    )  # fmt: skip
    open_ended = ended._replace(enrollment_id="SI-E-2", valid_to=None, terminated_on=None)
    mixed = [ended._replace(enrollment_id="SI-E-3"), open_ended._replace(enrollment_id="SI-E-4")]

    async def scenario() -> list[Enrollment]:
        engine = make_engine(database_url)
        await create_tables(engine, [table_of(Enrollment)])
        await engine.dispose()
        async with BulkWriter(database_url) as writer:
            await writer.put([open_ended])  # valid_to, terminated_on left out
            await writer.put([ended])  # bound
            await writer.put(mixed)  # bound, NULL in one row
            await writer.replace([ended._replace(enrollment_id="SI-E-2")])  # bound
            await writer.replace([open_ended._replace(enrollment_id="SI-E-1")])  # left out
        async with make_sessions(make_engine(database_url))() as session:
            return list((await session.exec(select(Enrollment))).all())

    stored = {e.enrollment_id: e.model_dump() for e in asyncio.run(scenario())}
    expected = [open_ended._replace(enrollment_id="SI-E-1"), ended._replace(enrollment_id="SI-E-2")]
    assert stored == {e.enrollment_id: e._asdict() for e in [*expected, *mixed]}


async def _alert_count(engine: AsyncEngine) -> int:
    async with make_sessions(engine)() as session:
        count = len((await session.exec(select(Alert))).all())
    await engine.dispose()
    return count


@pytest.mark.parametrize(
    ("complete", "refused_by"), [(False, "CREATE UNIQUE INDEX"), (True, "INSERT INTO")]
)
def test_a_failed_bulk_write_leaves_nothing_behind(
    tmp_path: Path, complete: bool, refused_by: str
) -> None:
    """The one-open-alert index refuses a twin alert and the whole transaction rolls back.
    The index is built at the end (its CREATE INDEX refuses the twin then), or, once the
    reader has said the alerts are `complete`, at once (the twin's INSERT is refused)."""
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
                if complete:
                    await writer.complete(AlertRow)
                await writer.put([twin])

        with pytest.raises(WriterFailed, match=f"(?s)UNIQUE constraint failed.*{refused_by}"):
            await write_both()
        return await _alert_count(engine)

    assert asyncio.run(scenario()) == 0


def test_a_refused_chunk_fails_the_whole_write_on_either_backend(database_url: str) -> None:
    """A chunk the database refuses (an alert without a kind), followed by good ones: its
    INSERT (SQLite) or COPY (PostgreSQL) fails the whole write, and nothing is left."""
    good = [raised_row(replace(DRAFT, subject_key=f"s-{n}"), NOW) for n in range(3)]
    bad = good[0]._replace(alert_id="bad", kind=None)  # type: ignore[arg-type]

    async def scenario() -> int:
        engine = make_engine(database_url)
        await create_tables(engine, [table_of(Alert), table_of(OutboxMessage)])
        await engine.dispose()

        async def write() -> None:
            async with BulkWriter(database_url) as writer:
                await writer.put([good[0]])
                await writer.put([bad])
                await writer.put_alerts(good[1:], ["alert.raised"] * 2, "/hub/e", NOW)

        with pytest.raises(WriterFailed, match=r"(?i)null"):
            await write()
        return await _alert_count(make_engine(database_url))

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


def test_the_pipe_to_the_writer_is_widened_where_linux_allows() -> None:
    """1 MiB where the system's ceiling allows it (Linux's default ceiling is 1 MiB), or the
    pipe keeps the size it had."""
    read, write = os.pipe()
    try:
        before = fcntl.fcntl(write, fcntl.F_GETPIPE_SZ)
        with os.fdopen(write, "wb", closefd=False) as pipe:
            _widen(pipe)
        ceiling = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        expected = 1 << 20 if ceiling >= 1 << 20 else before
        assert fcntl.fcntl(write, fcntl.F_GETPIPE_SZ) == expected
    finally:
        os.close(read)
        os.close(write)
