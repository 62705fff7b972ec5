"""The inbox: ids of events a consumer has applied, recorded in the same transaction as
what applying them changed, so that a redelivered event is applied once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import PrimaryKeyConstraint, insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.messaging.envelope import Envelope
from hub_shared.storage.db import SessionFactory
from hub_shared.tracing.context import continuing
from hub_shared.tracing.links import note_received

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
# A set-based handler: applies a batch of new events (none seen before) in the caller's
# transaction, reading and writing for all of them at once.
BatchHandler = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]
# Called once per batch transaction, before the handler, with the batch's new events: a
# handler can read what the whole batch needs in one query instead of one per event.
BatchPrepare = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]


def one_by_one(handler: Handler, prepare: BatchPrepare | None = None) -> BatchHandler:
    """A batch handler applying each event with a per-event handler, in order."""

    async def handle(session: AsyncSession, events: Sequence[Envelope]) -> None:
        if prepare is not None:
            await prepare(session, events)
        for envelope in events:
            with continuing(envelope.traceparent):
                await handler(session, envelope)

    return handle


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "inbox"
    # The key leads with the event id, whose first bytes tell rows apart (the consumer is
    # one value per service); lookups are by both columns.
    __table_args__ = (PrimaryKeyConstraint("event_id", "consumer"),)

    consumer: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=64)
    topic: str = Field(max_length=64)
    processed_at: datetime = Field(default_factory=clock.now)


async def apply_batch(
    sessions: SessionFactory,
    handler: BatchHandler,
    consumer: str,
    items: Sequence[tuple[str, Envelope]],
) -> int:
    """Apply (topic, event) pairs in one transaction with their inbox rows; returns how many
    were new. Events applied before, or twice in the batch, are passed over. Any failure
    rolls the whole batch back."""
    async with sessions() as session, session.begin():
        done = await seen_among(session, consumer, [e.id for _t, e in items])
        rows: list[dict[str, Any]] = []
        new: list[Envelope] = []
        for topic, envelope in items:
            if envelope.id in done:
                continue
            done.add(envelope.id)
            new.append(envelope)
            rows.append({"consumer": consumer, "event_id": envelope.id, "topic": topic})
        if new:
            await note_received(session, consumer, new)
            await handler(session, new)
            now = clock.now()
            await session.execute(insert(ProcessedEvent), [r | {"processed_at": now} for r in rows])
    return len(rows)


async def seen_among(session: AsyncSession, consumer: str, event_ids: Sequence[str]) -> set[str]:
    """The ids among `event_ids` that the consumer has applied before."""
    query = select(col(ProcessedEvent.event_id)).where(
        col(ProcessedEvent.consumer) == consumer, col(ProcessedEvent.event_id).in_(event_ids)
    )
    return set((await session.exec(query)).all())
