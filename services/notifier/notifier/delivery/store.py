"""The durable delivery queue in the database: claim due deliveries and record each
attempt and its outcome."""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Integer, bindparam, case, func, insert, or_, union_all, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.config import DeliveryConfig
from hub_shared.tracing import links as tracing_links
from notifier.delivery.schedule import retry_delay
from notifier.tables import Delivery, DeliveryAttempt, DeliveryStatus, table_of

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
    failures: int = 0
    traceparent: str | None = None  # the alert's trace, while tracing is on


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: a status code, or an error (timeout, refused, ...).
    A failed probe of an open circuit breaker does not use up the retry schedule: the
    endpoint is down, not this delivery."""

    delivery: Claimed
    attempted_at: datetime
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    probe: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def _first_in_line() -> Any:
    """No earlier delivery of the same alert to the same office is still pending (a
    later one waits, so `raised` always reaches an office before `resolved`).

    A scalar subquery, not NOT EXISTS: PostgreSQL turns NOT EXISTS into an anti join and,
    with statistics older than the backlog (a burst of alerts arrives faster than
    autovacuum analyzes), chose one that rescanned every delivery of the office for each
    candidate, for seconds. A scalar subquery runs per candidate with its office and alert
    bound, so it is an index lookup (office, alert, id) whatever the statistics say. The
    status test is written so that no index on status can serve it (`status || ''`)."""
    earlier = aliased(Delivery)
    return (
        select(earlier.id)
        .where(
            earlier.office_id == Delivery.office_id,
            earlier.alert_id == Delivery.alert_id,
            col(earlier.id) < col(Delivery.id),
            col(earlier.status) + "" == PENDING,
        )
        .limit(1)
        .scalar_subquery()
        .is_(None)
    )


@functools.lru_cache(maxsize=64)
def _due_query(offices: tuple[str, ...]) -> Any:
    """Ids of the first due deliveries of each office (at most `quota_<i>` for the i-th),
    oldest first, at most `limit` in all. One index-ordered LIMIT query per office joined
    by UNION ALL: the work is bounded by the quotas, not by the backlog, whatever the
    planner's statistics say (PostgreSQL stalled for seconds on the former window
    function over a fresh backlog). Built once per set of offices: building it costs more
    than running it."""
    now = bindparam("now", type_=table_of(Delivery).c.next_attempt_at.type)
    firsts = [
        select(col(Delivery.id).label("id"), col(Delivery.next_attempt_at).label("due"))
        .where(
            col(Delivery.status) == PENDING,
            col(Delivery.office_id) == office,
            col(Delivery.next_attempt_at) <= now,
            or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now),
            _first_in_line(),
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(bindparam(f"quota_{i}", type_=Integer))
        .subquery()
        for i, office in enumerate(offices)
    ]
    due = union_all(*(select(f.c.id, f.c.due) for f in firsts)).subquery()
    return select(due.c.id).order_by(due.c.due, due.c.id).limit(bindparam("limit", type_=Integer))


async def claim_due(
    session: AsyncSession,
    *,
    quota: Mapping[str, int],
    limit: int,
    lease_seconds: float,
    owner: str,
) -> list[Claimed]:
    """Lease up to `limit` due deliveries, oldest first, at most `quota[office]` for each
    office (a busy or draining office cannot crowd out the others). The rows are locked
    after they are chosen, skipping any that another worker holds."""
    if limit <= 0 or not any(n > 0 for n in quota.values()):
        return []
    now = clock.now()
    offices = tuple(quota)
    params: dict[str, Any] = {f"quota_{i}": max(quota[o], 0) for i, o in enumerate(offices)}
    chosen = _due_query(offices)
    ids = list((await session.exec(chosen, params={"now": now, "limit": limit, **params})).all())
    if not ids:
        return []
    locked = (
        select(Delivery)
        .where(
            col(Delivery.id).in_(ids),
            col(Delivery.status) == PENDING,
            or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now),
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .with_for_update(skip_locked=True)
    )
    taken = [
        Claimed(r.id, r.event_id, r.office_id, r.alert_id, r.body, r.attempts, r.failures)
        for r in (await session.exec(locked)).all()
        if r.id is not None
    ]
    # The webhook continues the trace of the alert event it carries (hub_shared.tracing).
    if traces := await tracing_links.latest_of_keys(session, [c.alert_id for c in taken]):
        taken = [replace(c, traceparent=traces.get(c.alert_id)) for c in taken]
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


async def release_ids(session: AsyncSession, owner: str, ids: Sequence[int]) -> None:
    """Give back some deliveries the worker holds but will not POST now."""
    if ids:
        await session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(list(ids)), col(Delivery.leased_by) == owner)
            .values(lease_until=None, leased_by=None)
        )


_T = table_of(Delivery)
# One statement for every outcome, run as an executemany. A retry or exhaustion only moves
# a delivery that is still pending: a disabled endpoint has disabled it meanwhile, and
# that must stick. Success and 410 are facts and always win.
_RECORD_OUTCOME = (
    update(_T)
    .where(_T.c.id == bindparam("b_id"))
    .values(
        attempts=bindparam("b_attempts"),
        failures=bindparam("b_failures"),
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
    rng: random.Random | None = None,
) -> datetime | None:
    """Log every attempt and move each delivery on: delivered, retried later, exhausted,
    or disabled (410; the endpoint itself is disabled by `endpoints.track_health`).
    Returns the earliest retry time it set."""
    if not outcomes:
        return None
    now = clock.now()
    next_due: datetime | None = None
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
            "b_failures": o.delivery.failures,
            "b_code": o.status_code,
            "b_error": o.error,
            "b_delivered": None,
            "b_next": None,
            "b_force": o.ok or o.gone,
            "b_status": PENDING,
        }
        if o.ok:
            change.update(b_status=DeliveryStatus.DELIVERED.value, b_delivered=now)
        elif o.gone:
            change.update(b_status=DeliveryStatus.DISABLED.value)
        elif o.probe:
            # Due again as soon as the breaker lets anything through.
            pass
        else:
            failures = o.delivery.failures + 1
            delay = retry_delay(
                failures,
                delivery.retry_schedule_seconds,
                jitter_ratio=delivery.jitter_ratio,
                retry_after=o.retry_after,
                rng=rng,
            )
            change.update(b_failures=failures)
            if delay is None:
                change.update(b_status=DeliveryStatus.EXHAUSTED.value)
            else:
                due = now + timedelta(seconds=delay)
                change.update(b_next=due)
                next_due = due if next_due is None else min(next_due, due)
        changes.append(change)
    await session.execute(insert(DeliveryAttempt), attempts)
    await session.execute(_RECORD_OUTCOME, changes)
    return next_due
