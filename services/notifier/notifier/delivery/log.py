"""The delivery log of an alert (every attempt, status code and latency), and the admin
redelivery of an office's deliveries since a given time."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.config import OfficeConfig
from notifier.delivery.endpoints import enable
from notifier.delivery.store import PENDING
from notifier.tables import Delivery, DeliveryAttempt


async def redeliver(
    session: AsyncSession,
    *,
    office: OfficeConfig,
    since: datetime,
    offices: Sequence[OfficeConfig],
) -> dict[str, Any]:
    """Queue again every delivery to `office` created at or after `since` that is not
    pending (delivered, exhausted or disabled), with its own webhook-id, and enable the
    office's endpoint if it was disabled. They go in their first order, so `raised`
    still comes before `resolved`."""
    enabled = await enable(session, office, offices)
    now = clock.now()
    since = since.astimezone(UTC)  # stored times are UTC (SQLite compares them as text)
    result = await session.execute(
        update(Delivery)
        .where(
            col(Delivery.office_id) == office.id,
            col(Delivery.created_at) >= since,
            col(Delivery.status) != PENDING,
        )
        .values(
            status=PENDING,
            failures=0,
            next_attempt_at=now,
            lease_until=None,
            leased_by=None,
        )
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    return {
        "office_id": office.id,
        "since": since.isoformat(),
        "requeued": count,
        "endpoint_enabled": enabled,
    }


async def delivery_log(
    session: AsyncSession, *, alert_id: str, office_ids: Collection[str] | None
) -> list[dict[str, Any]]:
    """Every delivery of an alert with its attempts; `office_ids` None means all offices."""
    query = select(Delivery).where(col(Delivery.alert_id) == alert_id)
    if office_ids is not None:
        query = query.where(col(Delivery.office_id).in_(list(office_ids)))
    deliveries = list((await session.exec(query.order_by(col(Delivery.id)))).all())
    ids = [d.id for d in deliveries]
    attempts: dict[int, list[dict[str, Any]]] = {}
    if ids:
        rows = await session.exec(
            select(DeliveryAttempt)
            .where(col(DeliveryAttempt.delivery_id).in_(ids))
            .order_by(col(DeliveryAttempt.id))
        )
        for a in rows.all():
            attempts.setdefault(a.delivery_id, []).append(
                {
                    "attempt": a.attempt_no,
                    "attempted_at": clock.as_utc(a.attempted_at).isoformat(),
                    "status_code": a.status_code,
                    "error": a.error,
                    "latency_ms": a.latency_ms,
                }
            )
    return [_delivery_json(d, attempts.get(d.id or 0, [])) for d in deliveries]


def _delivery_json(d: Delivery, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    pending = d.status == PENDING
    return {
        "event_id": d.event_id,
        "office_id": d.office_id,
        "type": d.event_name,
        "status": d.status,
        "attempts": d.attempts,
        "created_at": clock.as_utc(d.created_at).isoformat(),
        "next_attempt_at": clock.as_utc(d.next_attempt_at).isoformat() if pending else None,
        "delivered_at": clock.as_utc(d.delivered_at).isoformat() if d.delivered_at else None,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "log": attempts,
    }
