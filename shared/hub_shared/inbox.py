"""The inbox: ids of events a consumer has applied, recorded in the same transaction as
what applying them changed, so that a redelivered event is applied once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import PrimaryKeyConstraint, insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.db import SessionFactory
from hub_shared.envelope import Envelope

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
# Called once per batch transaction, before the handler, with the batch's new events: a
# handler can read what the whole batch needs in one query instead of one per event.
BatchPrepare = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "inbox"
    # The key leads with the event id: its first bytes tell rows apart, where the consumer's
    # are one value throughout (PostgreSQL builds the key of a replay's million rows in a
    # third of the time: it compares them by those first bytes).
    __table_args__ = (PrimaryKeyConstraint("event_id", "consumer"),)

    consumer: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=64)
    topic: str = Field(max_length=64)
    processed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


async def seen(session: AsyncSession, consumer: str, event_id: str) -> bool:
    key = {"consumer": consumer, "event_id": event_id}
    return await session.get(ProcessedEvent, key) is not None


def record(session: AsyncSession, consumer: str, event_id: str, topic: str) -> None:
    session.add(ProcessedEvent(consumer=consumer, event_id=event_id, topic=topic))


async def apply_event(
    sessions: SessionFactory, handler: Handler, consumer: str, topic: str, envelope: Envelope
) -> bool:
    """Apply one event and record it in the inbox, in one transaction; False if it had been
    applied before (a redelivery)."""
    async with sessions() as session, session.begin():
        if await seen(session, consumer, envelope.id):
            return False
        await handler(session, envelope)
        record(session, consumer, envelope.id, topic)
    return True


async def apply_batch(
    sessions: SessionFactory,
    handler: Handler,
    consumer: str,
    items: Sequence[tuple[str, Envelope]],
    *,
    prepare: BatchPrepare | None = None,
) -> int:
    """Apply several events in one transaction with their inbox rows; returns how many were
    new. Any failure rolls the whole batch back (the caller then goes one by one)."""
    done: set[str] = set()
    async with sessions() as session, session.begin():
        # The inbox in one query for the whole batch rather than one per event.
        done |= await seen_among(session, consumer, [e.id for _t, e in items])
        if prepare is not None:
            await prepare(session, [e for _t, e in items if e.id not in done])
        rows: list[dict[str, Any]] = []
        for topic, envelope in items:
            if envelope.id in done:
                continue
            await handler(session, envelope)
            rows.append({"consumer": consumer, "event_id": envelope.id, "topic": topic})
            done.add(envelope.id)
        if rows:  # the inbox rows in one statement
            now = datetime.now(UTC)
            await session.execute(insert(ProcessedEvent), [r | {"processed_at": now} for r in rows])
    return len(rows)


async def seen_among(session: AsyncSession, consumer: str, event_ids: Sequence[str]) -> set[str]:
    """The ids among `event_ids` that the consumer has applied before."""
    query = select(col(ProcessedEvent.event_id)).where(
        col(ProcessedEvent.consumer) == consumer, col(ProcessedEvent.event_id).in_(event_ids)
    )
    return set((await session.exec(query)).all())
