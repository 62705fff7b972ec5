"""The durable delivery queue in the database: claim due deliveries, record each attempt
and its outcome, disable endpoints that answered 410, read the delivery log."""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, bindparam, case, func, insert, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.config import DeliveryConfig
from notifier.models import Delivery, DeliveryAttempt, DeliveryStatus, Endpoint, table_of
from notifier.schedule import aware, retry_delay
from notifier.service import disabled_endpoints

PENDING = DeliveryStatus.PENDING.value


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds under lease while it POSTs it."""

    id: int
    event_id: str
    office_id: str
    alert_id: str
    body: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: a status code, or an error (timeout, refused, ...)."""

    delivery: Claimed
    attempted_at: datetime
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


async def claim_due(
    session: AsyncSession,
    *,
    endpoints: Mapping[str, str],
    busy: Mapping[str, int],
    per_office: int,
    limit: int,
    lease_seconds: float,
    owner: str,
) -> list[Claimed]:
    """Lease up to `limit` due deliveries, oldest first, never two for the same office and
    alert (a later event waits while an earlier one is pending), at most `per_office` in
    flight per office. `endpoints`: office id -> configured webhook URL."""
    now = datetime.now(UTC)
    gone = await disabled_endpoints(session)
    active = [
        office
        for office, url in endpoints.items()
        if gone.get(office) != url and busy.get(office, 0) < per_office
    ]
    if not active or limit <= 0:
        return []
    earlier = aliased(Delivery)
    blocked = (
        select(earlier.id)
        .where(
            earlier.office_id == Delivery.office_id,
            earlier.alert_id == Delivery.alert_id,
            col(earlier.id) < col(Delivery.id),
            earlier.status == PENDING,
        )
        .exists()
    )
    query = (
        select(Delivery)
        .where(
            col(Delivery.status) == PENDING,
            col(Delivery.next_attempt_at) <= now,
            or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now),
            col(Delivery.office_id).in_(active),
            ~blocked,
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(limit * 2)
        .with_for_update(skip_locked=True, of=Delivery)
    )
    taken: list[Claimed] = []
    load = dict(busy)
    for row in (await session.exec(query)).all():
        if len(taken) == limit:
            break
        if load.get(row.office_id, 0) >= per_office or row.id is None:
            continue
        load[row.office_id] = load.get(row.office_id, 0) + 1
        taken.append(
            Claimed(row.id, row.event_id, row.office_id, row.alert_id, row.body, row.attempts)
        )
    if taken:
        await session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_([c.id for c in taken]))
            .values(lease_until=now + timedelta(seconds=lease_seconds), leased_by=owner)
        )
    return taken


async def release(session: AsyncSession, owner: str) -> None:
    """Give back every delivery a worker still holds (it is stopping): whatever it was
    doing when it stopped, they are due again at once rather than when the lease ends."""
    await session.execute(
        update(Delivery)
        .where(col(Delivery.leased_by) == owner)
        .values(lease_until=None, leased_by=None)
    )


_T = table_of(Delivery)
# One statement for every outcome, run as an executemany. A retry or exhaustion only moves
# a delivery that is still pending: a 410 seen meanwhile for the same office has disabled
# it, and that must stick. Success and 410 are facts and always win.
_RECORD_OUTCOME = (
    update(_T)
    .where(_T.c.id == bindparam("b_id"))
    .values(
        attempts=bindparam("b_attempts"),
        lease_until=None,
        leased_by=None,
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        delivered_at=func.coalesce(
            bindparam("b_delivered", type_=_T.c.delivered_at.type), _T.c.delivered_at
        ),
        next_attempt_at=func.coalesce(
            bindparam("b_next", type_=_T.c.next_attempt_at.type), _T.c.next_attempt_at
        ),
        status=case(
            (
                or_(_T.c.status == PENDING, bindparam("b_force", type_=Boolean)),
                bindparam("b_status"),
            ),
            else_=_T.c.status,
        ),
    )
)


async def record_outcomes(
    session: AsyncSession,
    outcomes: Sequence[Outcome],
    *,
    delivery: DeliveryConfig,
    endpoints: Mapping[str, str],
    rng: random.Random | None = None,
) -> datetime | None:
    """Log every attempt and move each delivery on: delivered, retried later, exhausted,
    or disabled with its endpoint (410). Returns the earliest retry time it set."""
    if not outcomes:
        return None
    now = datetime.now(UTC)
    next_due: datetime | None = None
    gone: dict[str, Outcome] = {}
    attempts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for o in outcomes:
        count = o.delivery.attempts + 1
        attempts.append(
            {
                "delivery_id": o.delivery.id,
                "attempt_no": count,
                "attempted_at": o.attempted_at,
                "status_code": o.status_code,
                "error": o.error,
                "latency_ms": round(o.latency_ms, 3),
            }
        )
        change: dict[str, Any] = {
            "b_id": o.delivery.id,
            "b_attempts": count,
            "b_code": o.status_code,
            "b_error": o.error,
            "b_delivered": None,
            "b_next": None,
            "b_force": o.ok or o.gone,
        }
        if o.ok:
            change.update(b_status=DeliveryStatus.DELIVERED.value, b_delivered=now)
        elif o.gone:
            change.update(b_status=DeliveryStatus.DISABLED.value)
            gone.setdefault(o.delivery.office_id, o)
        else:
            delay = retry_delay(
                count,
                delivery.retry_schedule_seconds,
                jitter_ratio=delivery.jitter_ratio,
                retry_after=o.retry_after,
                rng=rng,
            )
            if delay is None:
                change.update(b_status=DeliveryStatus.EXHAUSTED.value)
            else:
                due = now + timedelta(seconds=delay)
                change.update(b_status=PENDING, b_next=due)
                next_due = due if next_due is None else min(next_due, due)
        changes.append(change)
    await session.execute(insert(DeliveryAttempt), attempts)
    await session.execute(_RECORD_OUTCOME, changes)
    for office_id, o in gone.items():
        await _disable_endpoint(session, office_id, endpoints.get(office_id, ""), o, now)
    return next_due


async def _disable_endpoint(
    session: AsyncSession, office_id: str, url: str, o: Outcome, now: datetime
) -> None:
    endpoint = await session.get(Endpoint, office_id, with_for_update=True)
    if endpoint is None:
        endpoint = Endpoint(office_id=office_id, webhook_url=url)
    endpoint.webhook_url = url
    endpoint.disabled_at = now
    endpoint.disabled_reason = f"410 Gone answering delivery {o.delivery.event_id}"
    session.add(endpoint)
    await session.execute(
        update(Delivery)
        .where(col(Delivery.office_id) == office_id, col(Delivery.status) == PENDING)
        .values(status=DeliveryStatus.DISABLED.value)
    )


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
                    "attempted_at": aware(a.attempted_at).isoformat(),
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
        "created_at": aware(d.created_at).isoformat(),
        "next_attempt_at": aware(d.next_attempt_at).isoformat() if pending else None,
        "delivered_at": aware(d.delivered_at).isoformat() if d.delivered_at else None,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "log": attempts,
    }
