"""Replay's alert rows: raised from the live matcher's drafts (enrollment.drafts), resolved
as alerts.resolved closes them, and, for the permits that make most of a log's alerts,
raised straight from the permit row.

A permit alert's draft holds three pydantic models, built and then serialized again: for a
log of a million events that was half of judging. `PermitAlerts` writes the same JSON from
the permit's fields with a few string joins (a unit test holds its rows equal to the
draft's, character for character, over generated names and numbers).
"""

from __future__ import annotations

import json
from datetime import datetime
from json.encoder import encode_basestring

from pydantic import TypeAdapter

from enrollment.drafts import AlertDraft, permit_reason
from enrollment.replay_outbox import new_id
from enrollment.replay_rows import AlertRow, PermitRow
from enrollment.rules import Policy, grace_text
from hub_shared.events import Evidence

_EVIDENCE = TypeAdapter(list[Evidence])


def raised_row(draft: AlertDraft, now: datetime) -> AlertRow:
    """An open alert, as alerts.new_alert gives it (a unit test holds the two equal)."""
    return AlertRow(
        new_id(), draft.kind, draft.subject_key, "open", draft.division_code,
        draft.subject.model_dump_json(exclude_none=True), draft.reason,
        _EVIDENCE.dump_json(draft.evidence).decode(), now, None, None, None, None,
    )  # fmt: skip


def resolved_row(
    alert: AlertRow, resolution: str, evidence: list[Evidence], now: datetime
) -> AlertRow:
    """As alerts.resolved: closed by an enrollment, its evidence saying how it matched."""
    known = json.loads(alert.evidence)
    return alert._replace(
        status="resolved", resolved_at=now, resolution=resolution,
        evidence=json.dumps(known + [e.to_json() for e in evidence], ensure_ascii=False),
    )  # fmt: skip


class PermitAlerts:
    """`raised_row(permit_alert(p, policy), now)` for a permit row, without the models: the
    subject's JSON without its absent fields (a permit always has a project name), the
    evidence's with them, as pydantic writes both (strings escaped as encode_basestring
    escapes them, Chinese kept as it is)."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        self._grace = grace_text(policy.grace_seconds)
        self._now = now

    def __call__(self, p: PermitRow) -> AlertRow:
        q = encode_basestring
        subject = f'{{"uscc":{q(p.contractor_uscc)},"name":{q(p.contractor_name)},' \
                  f'"permit_no":{q(p.permit_no)},"project_name":{q(p.project_name)}}}'  # fmt: skip
        evidence = f'[{{"type":"permit.issued","id":{q(p.event_id)},"detail":null,"score":null}}]'
        return AlertRow(
            new_id(), "project_not_enrolled", p.permit_no, "open", p.division_code,
            subject, permit_reason(p.permit_no, self._grace), evidence, self._now,
            None, None, None, None,
        )  # fmt: skip
