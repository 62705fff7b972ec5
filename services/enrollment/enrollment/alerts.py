"""Raising and resolving alerts; each change is staged on alerts.v1 in the same transaction."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment.drafts import AlertDraft
from enrollment.models import Alert
from hub_shared.events import AlertData, Evidence
from hub_shared.outbox import add_event

_MATCHER_LOCK = 3708_2021_64  # the plan's document number: any constant shared by instances


async def lock_matcher(session: AsyncSession) -> None:
    """Serialise matching transactions across instances (PostgreSQL); SQLite's BEGIN
    IMMEDIATE already does. Without it a permit and its enrollment handled at the same
    moment on two instances could each miss the other and leave a wrong alert open."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.execute(text(f"SELECT pg_advisory_xact_lock({_MATCHER_LOCK})"))


async def find_open(session: AsyncSession, kind: str, subject_key: str) -> Alert | None:
    query = select(Alert).where(
        Alert.kind == kind, Alert.subject_key == subject_key, Alert.status == "open"
    )
    return (await session.exec(query)).first()


def to_data(alert: Alert) -> AlertData:
    return AlertData.model_validate(
        {
            "alert_id": alert.alert_id,
            "kind": alert.kind,
            "status": alert.status,
            "division_code": alert.division_code,
            "subject": json.loads(alert.subject),
            "reason": alert.reason,
            "evidence": json.loads(alert.evidence),
            "raised_at": alert.raised_at,
            "resolved_at": alert.resolved_at,
            "resolution": alert.resolution,
            "acknowledged_at": alert.acknowledged_at,
            "acknowledged_by": alert.acknowledged_by,
        }
    )


def publish(session: AsyncSession, name: str, alert: Alert, source: str) -> None:
    add_event(
        session,
        name,
        source=source,
        key=alert.alert_id,
        subject=alert.alert_id,
        data=to_data(alert).to_json(),
    )


def new_alert(draft: AlertDraft, raised_at: datetime | None = None) -> Alert:
    """An open alert row for a draft (not yet added to any session)."""
    return Alert(
        alert_id=str(uuid.uuid4()),
        kind=draft.kind,
        subject_key=draft.subject_key,
        status="open",
        division_code=draft.division_code,
        subject=draft.subject.model_dump_json(exclude_none=True),
        reason=draft.reason,
        evidence=json.dumps([e.to_json() for e in draft.evidence], ensure_ascii=False),
        raised_at=raised_at or datetime.now(UTC),
    )


async def raise_alert(session: AsyncSession, draft: AlertDraft, source: str) -> Alert | None:
    """Open an alert unless one is open for the same kind and subject."""
    if await find_open(session, draft.kind, draft.subject_key) is not None:
        return None
    alert = new_alert(draft)
    session.add(alert)
    await session.flush()
    publish(session, "alert.raised", alert, source)
    return alert


def resolved(alert: Alert, resolution: str, evidence: list[Evidence] | None = None) -> None:
    """Mark an alert resolved by an enrollment; its evidence says how it matched."""
    if evidence:
        known = json.loads(alert.evidence)
        alert.evidence = json.dumps(known + [e.to_json() for e in evidence], ensure_ascii=False)
    alert.status = "resolved"
    alert.resolved_at = datetime.now(UTC)
    alert.resolution = resolution


async def resolve(
    session: AsyncSession,
    alert: Alert,
    resolution: str,
    source: str,
    evidence: list[Evidence] | None = None,
) -> None:
    """Close an alert with the enrollment that covers it, and stage `alert.resolved`."""
    resolved(alert, resolution, evidence)
    session.add(alert)
    await session.flush()
    publish(session, "alert.resolved", alert, source)
