"""Replay's fast path writes what the live matcher would: the same columns, the same alert
rows and payloads, values that read back through the ORM unchanged."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateTable
from sqlmodel import select

from enrollment import alerts
from enrollment.drafts import AlertDraft
from enrollment.models import TABLES, Alert, Enrollment, WatchedPermit
from enrollment.rebuild import new_id, payload_json, raised_row, resolved_row
from enrollment.replay_rows import TABLE_OF_ROW, EnrollmentRow, OutboxRow, PermitRow
from enrollment.replay_write import BulkWriter, WriterFailed
from hub_shared.db import create_tables, make_engine, make_sessions, table_of
from hub_shared.envelope import Envelope, MalformedEvent, encode, peek
from hub_shared.events import AlertSubject, Evidence
from hub_shared.outbox import OutboxMessage

NOW = datetime(2026, 11, 29, 8, 30, 15, 123456, tzinfo=UTC)
DRAFT = AlertDraft(
    kind="project_not_enrolled",
    subject_key="3708112021031501",
    division_code="370811",
    subject=AlertSubject(
        uscc="91370812MA3L12T073",
        name="施工单位",
        permit_no="3708112021031501",
        project_name="济宁市某小区3#楼",
    ),
    reason="施工许可证 3708112021031501 已发放 24 小时, 未找到按项目参保记录",
    evidence=[Evidence(type="permit.issued", id="e-1")],
)


@pytest.mark.parametrize("row_type", list(TABLE_OF_ROW))
def test_every_row_type_names_its_tables_columns(row_type: type[Any]) -> None:
    columns = [c.name for c in TABLE_OF_ROW[row_type].columns]
    if row_type is OutboxRow:
        columns.remove("id")  # autoincrement: the database numbers the outbox
    assert list(row_type._fields) == columns


def _parsed(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its JSON columns parsed: their spacing may differ."""
    return {k: json.loads(v) if k in ("subject", "evidence") else v for k, v in row.items()}


def _published(alert: Alert) -> dict[str, Any]:
    """The live matcher's alert event payload, as alerts.v1 carries it."""
    parsed: dict[str, Any] = json.loads(alerts.to_data(alert).model_dump_json())
    return parsed


def test_a_raised_row_and_its_payload_are_the_live_matchers() -> None:
    row = raised_row(DRAFT, NOW)
    live = alerts.new_alert(DRAFT, NOW)
    live.alert_id = row.alert_id
    assert _parsed(row._asdict()) == _parsed(live.model_dump())
    assert json.loads(payload_json(row)) == _published(live)


def test_a_resolved_row_and_its_payload_are_the_live_matchers() -> None:
    row = raised_row(DRAFT, NOW)
    how = [Evidence(type="enrollment.registered", id="SI-P-1", score=1.0, detail="按许可证号")]
    closed = resolved_row(row, "SI-P-1", how, NOW)
    live = alerts.new_alert(DRAFT, NOW)
    live.alert_id = row.alert_id
    alerts.resolved(live, "SI-P-1", how)
    live.resolved_at = NOW
    assert _parsed(closed._asdict()) == _parsed(live.model_dump())
    assert json.loads(payload_json(closed)) == _published(live)


def test_payloads_escape_what_json_must_and_keep_chinese_as_it_is() -> None:
    draft = replace(DRAFT, reason='名称含 "引号" \\ 与换行\n')
    live = alerts.new_alert(draft, NOW)
    row = raised_row(draft, NOW)
    live.alert_id = row.alert_id
    assert json.loads(payload_json(row)) == _published(live)
    assert "名称" in payload_json(row)


def test_ids_are_distinct_version_4_uuids() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[::997]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_peek_reads_id_and_name_and_refuses_what_decode_refuses() -> None:
    envelope = Envelope.new("permit.issued", source="/t", data={"a": 1}, key="k")
    _, _, headers = encode(envelope)
    assert peek(headers) == (envelope.id, "permit.issued")
    for missing in ("ce_id", "ce_type", "ce_time", "ce_specversion"):
        with pytest.raises(MalformedEvent):
            peek([(k, v) for k, v in headers if k != missing])


def test_the_bulk_writer_stores_what_the_orm_reads_back(tmp_path: Path) -> None:
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
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
        await create_tables(engine, [*map(table_of, TABLES), table_of(OutboxMessage)])
        async with BulkWriter(str(engine.url)) as writer:
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
