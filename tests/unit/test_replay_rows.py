"""Replay's fast path writes what the live matcher would: the same columns, the same alert
rows and payloads (tests/integration/test_replay_write.py reads them back from databases)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enrollment import alerts
from enrollment.drafts import permit_alert
from enrollment.models import Alert
from enrollment.replay_alerts import PermitAlerts, raised_row, resolved_row
from enrollment.replay_outbox import new_id, payload_json
from enrollment.replay_rows import TABLE_OF_ROW, OutboxRow, PermitRow
from enrollment.rules import Policy
from hub_shared.envelope import Envelope, MalformedEvent, encode, peek
from hub_shared.events import Evidence
from tests.support.alerts import DRAFT, NOW


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


def test_an_acknowledged_rows_payload_is_the_live_matchers() -> None:
    row = raised_row(DRAFT, NOW)._replace(acknowledged_at=NOW, acknowledged_by="任城区社保局")
    live = alerts.new_alert(DRAFT, NOW)
    live.alert_id = row.alert_id
    live.acknowledged_at, live.acknowledged_by = NOW, "任城区社保局"
    assert json.loads(payload_json(row)) == _published(live)


def test_payloads_escape_what_json_must_and_keep_chinese_as_it_is() -> None:
    draft = replace(DRAFT, reason='名称含 "引号" \\ 与换行\n')
    live = alerts.new_alert(draft, NOW)
    row = raised_row(draft, NOW)
    live.alert_id = row.alert_id
    assert json.loads(payload_json(row)) == _published(live)
    assert "名称" in payload_json(row)


# Any text a decoded event can hold: every character but lone surrogates, which no JSON
# decoder lets through.
_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    permit_no=_TEXT, event_id=_TEXT, contractor=_TEXT, uscc=_TEXT,
    project_name=_TEXT, division=_TEXT,
    grace=st.sampled_from([30, 90, 3600, 86400, 7 * 86400, 5400.5]),
)  # fmt: skip
def test_a_permit_alert_row_is_the_drafts_to_the_character(
    permit_no: str, event_id: str, contractor: str, uscc: str, project_name: str,
    division: str, grace: float,
) -> None:  # fmt: skip
    permit = PermitRow(
        permit_no, event_id, 1, None, project_name, "", division, uscc, contractor, NOW, NOW,
        None,
    )  # fmt: skip
    policy = Policy(source="/hub/enrollment", grace_seconds=grace)
    fast = PermitAlerts(policy, NOW)(permit)
    drafted = raised_row(permit_alert(permit, policy), NOW)
    assert fast == drafted._replace(alert_id=fast.alert_id)
    assert fast.alert_id != drafted.alert_id


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
