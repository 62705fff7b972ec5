"""One delivery worker at a time delivers to each office, so that the office's circuit
breaker, which lives in that worker's memory, bounds what the office receives however many
notifier replicas run: one probe while it is half open, the drain rate while it recovers.

Offices are shared out evenly among the live workers. Each worker renews a heartbeat and
its office leases once a second, in a step's transaction; a worker above its share gives
offices back, one below takes free or expired ones. A worker that stops gives its offices
back at once; one that dies loses them when its leases run out (`LEASE_SECONDS`), and its
offices' deliveries resume with another worker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.storage.db import SessionFactory
from notifier.tables import NotifierWorker, OfficeLease

LEASE_SECONDS = 10.0
HOLD_EVERY_SECONDS = 1.0  # how often a worker renews them and evens out (not every step)


async def add_offices(sessions: SessionFactory, offices: Sequence[str]) -> None:
    """A lease row for every office (two workers starting at once may race: one wins)."""
    try:
        async with sessions() as session, session.begin():
            query = select(OfficeLease.office_id).where(col(OfficeLease.office_id).in_(offices))
            known = set((await session.exec(query)).all())
            session.add_all(OfficeLease(office_id=o) for o in offices if o not in known)
    except IntegrityError:
        return  # another worker added them


async def hold_offices(
    session: AsyncSession,
    worker: str,
    offices: Sequence[str],
    *,
    lease_seconds: float = LEASE_SECONDS,
    now: datetime | None = None,
) -> set[str]:
    """Renew the worker's heartbeat and leases, even out the offices among live workers,
    and return the offices this worker may deliver to until its next step."""
    now = now or clock.now()
    until = now + timedelta(seconds=lease_seconds)
    beat = await session.get(NotifierWorker, worker)
    if beat is None:
        session.add(NotifierWorker(worker=worker, seen_at=now))
    else:
        beat.seen_at = now
    await session.flush()
    quiet = now - timedelta(seconds=lease_seconds)
    await session.execute(delete(NotifierWorker).where(col(NotifierWorker.seen_at) < quiet))
    live = (await session.exec(select(func.count()).select_from(NotifierWorker))).one()
    share = math.ceil(len(offices) / max(int(live), 1))
    query = (
        select(OfficeLease)
        .where(col(OfficeLease.office_id).in_(offices))
        .order_by(col(OfficeLease.office_id))
        .with_for_update()  # PostgreSQL: a second worker waits, then sees what this one took
    )
    rows = list((await session.exec(query)).all())
    mine = [r for r in rows if r.worker == worker and _held(r, now)]
    free = [r for r in rows if not _held(r, now)]
    kept = mine[:share]
    for row in mine[share:]:
        row.worker, row.until = None, None
    renew = now + timedelta(seconds=lease_seconds / 2)  # renewed once half has run out:
    for row in kept:  # most steps then write no lease at all
        if row.until is not None and row.until < renew:
            row.until = until
    for row in free[: max(share - len(kept), 0)]:
        row.worker, row.until = worker, until
    session.add_all(rows)
    return {r.office_id for r in rows if r.worker == worker and _held(r, now)}


def _held(row: OfficeLease, now: datetime) -> bool:
    return row.worker is not None and row.until is not None and row.until >= now


async def leave(session: AsyncSession, worker: str) -> None:
    """The worker is stopping: its offices are free for the others at once."""
    await session.execute(
        update(OfficeLease).where(col(OfficeLease.worker) == worker).values(worker=None, until=None)
    )
    await session.execute(delete(NotifierWorker).where(col(NotifierWorker.worker) == worker))
