"""Raising and resolving alerts; each change is staged on alerts.v1 in the same transaction."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment.models import Alert
from hub_shared.events import AlertData, AlertKind, AlertSubject, Evidence
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


def _publish(session: AsyncSession, name: str, alert: Alert, source: str) -> None:
    add_event(
        session,
        name,
        source=source,
        key=alert.alert_id,
        subject=alert.alert_id,
        data=to_data(alert).to_json(),
    )


async def raise_alert(
    session: AsyncSession,
    *,
    kind: AlertKind,
    subject_key: str,
    division_code: str,
    subject: AlertSubject,
    reason: str,
    evidence: list[Evidence],
    source: str,
) -> Alert | None:
    """Open an alert unless one is open for the same kind and subject."""
    if await find_open(session, kind, subject_key) is not None:
        return None
    alert = Alert(
        alert_id=str(uuid.uuid4()),
        kind=kind,
        subject_key=subject_key,
        status="open",
        division_code=division_code,
        subject=subject.model_dump_json(exclude_none=True),
        reason=reason,
        evidence=json.dumps([e.to_json() for e in evidence], ensure_ascii=False),
        raised_at=datetime.now(UTC),
    )
    session.add(alert)
    await session.flush()
    _publish(session, "alert.raised", alert, source)
    return alert


async def resolve(
    session: AsyncSession,
    alert: Alert,
    resolution: str,
    source: str,
    evidence: list[Evidence] | None = None,
) -> None:
    """Close an alert with the enrollment that covers it; its evidence says how it matched."""
    if evidence:
        known = json.loads(alert.evidence)
        alert.evidence = json.dumps(known + [e.to_json() for e in evidence], ensure_ascii=False)
    alert.status = "resolved"
    alert.resolved_at = datetime.now(UTC)
    alert.resolution = resolution
    session.add(alert)
    await session.flush()
    _publish(session, "alert.resolved", alert, source)
