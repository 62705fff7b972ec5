"""Transactional outbox: events are written with the change that causes them, then relayed.

A request or handler calls `add_event` inside its own transaction; the `OutboxRelay`
publishes committed rows with the idempotent producer and marks them sent. Kafka being
down only delays publication; it never loses or rejects accepted data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NotRequired, TypedDict, Unpack

from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from sqlalchemy import Column, Text, func, insert, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.messaging.envelope import Envelope, encode
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.topics import event_type, topic_of
from hub_shared.storage.db import SessionFactory
from hub_shared.tracing.context import current_traceparent

log = logging.getLogger(__name__)
# What no retry can cure: the broker refuses the record itself (too large for
# message.max.bytes or the producer's max_request_size, a bad topic). Such a row, or one
# that cannot be read back as an event (ValueError), is parked: it no longer blocks the
# rows after it.
UNPUBLISHABLE: tuple[type[Exception], ...] = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    InvalidTopicError,
    CorruptRecordException,
)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    # A sentinel: the ORM can then insert a flush's outbox rows in one batched statement and
    # still match the generated ids to them (SQLite does not promise RETURNING's order).
    event_id: str = Field(unique=True, max_length=36, sa_column_kwargs={"insert_sentinel": True})
    topic: str = Field(max_length=64)
    key: str | None = Field(default=None, max_length=128)
    ce_type: str = Field(max_length=128)
    ce_source: str = Field(max_length=128)
    ce_subject: str | None = Field(default=None, max_length=128)
    ce_time: datetime
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=clock.now)
    sent_at: datetime | None = Field(default=None, index=True)
    lease_until: datetime | None = None
    traceparent: str | None = Field(default=None, max_length=64)  # hub_shared.tracing
    # Set when the row can never be published (UNPUBLISHABLE): the relay skips it and
    # operators see it in GET /v1/admin/outbox/parked and hub_outbox_parked.
    parked_at: datetime | None = None
    parked_reason: str | None = Field(default=None, max_length=500)


class EventFields(TypedDict):
    """What a writer says of an event besides its name: one definition for every way of
    adding one (`outbox_row`, `add_event`, `UnitOfWork.add_event`), checked by mypy."""

    source: str
    key: str | None
    data: Mapping[str, Any]
    subject: NotRequired[str | None]
    event_id: NotRequired[str | None]


def outbox_row(
    name: str, *, now: datetime | None = None, **fields: Unpack[EventFields]
) -> dict[str, Any]:
    """An event's outbox row, as values for an INSERT."""
    now = now or clock.now()
    return {
        "event_id": fields.get("event_id") or str(uuid.uuid4()),
        "topic": topic_of(name).name,
        "key": fields["key"],
        "ce_type": event_type(name),
        "ce_source": fields["source"],
        "ce_subject": fields.get("subject"),
        "ce_time": now,
        "payload": json.dumps(fields["data"], ensure_ascii=False, default=str),
        "created_at": now,
        "sent_at": None,
        "lease_until": None,
        "traceparent": current_traceparent(),
        "parked_at": None,
        "parked_reason": None,
    }


def add_event(session: AsyncSession, name: str, **fields: Unpack[EventFields]) -> str:
    """Add an event to the caller's transaction; returns its CloudEvents id. A write in a
    unit of work stages its events with `UnitOfWork.add_event` instead, so that its group
    writes them in one INSERT."""
    row = outbox_row(name, **fields)
    session.add(OutboxMessage(**row))
    return str(row["event_id"])


async def insert_staged(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write outbox rows (`outbox_row`'s) in one statement: a unit of work's staged rows, or
    a consumer's or an import's batch of events."""
    if rows:
        await session.execute(insert(OutboxMessage), list(rows))


# A row-to-envelope mapping, alike in shape to the services' row-to-model ones; each maps
# its own table.
def _envelope(row: OutboxMessage) -> Envelope:
    return Envelope(
        id=row.event_id,
        type=row.ce_type,
        source=row.ce_source,
        subject=row.ce_subject,
        key=row.key,
        time=row.ce_time.replace(tzinfo=row.ce_time.tzinfo or UTC),
        data=json.loads(row.payload),
        traceparent=row.traceparent,
    )


class OutboxRelay:
    """Publishes committed outbox rows in id order; several instances share work by lease."""

    def __init__(
        self,
        sessions: SessionFactory,
        producer: Producer,
        *,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        lease_seconds: float = 60.0,
        linger_seconds: float = 0.02,
        on_published: Callable[[Sequence[OutboxMessage]], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._producer = producer
        self._batch_size = batch_size
        self._poll = poll_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._linger = linger_seconds
        self._wake = asyncio.Event()
        self._on_published = on_published
        self.published = 0
        self.parked = 0

    def notify(self) -> None:
        """Wake the relay now: a transaction with outbox rows has committed."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.5
        while True:
            # Cleared before the claim, so a commit during publishing wakes the next round.
            self._wake.clear()
            try:
                sent = await self.publish_batch()
                backoff = 0.5
            except Exception as exc:
                log.warning("outbox relay: publish failed, retrying: %s", exc)
                if isinstance(exc, OutOfOrderSequenceNumber):
                    await self._producer.stop()  # a new producer id starts its sequences at 0
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if sent >= self._batch_size:
                continue
            if sent:
                # Under load every group commit wakes the relay; lingering a moment lets the
                # next rounds gather several groups' rows, so that its claim and mark-sent
                # transactions take the (on SQLite, only) connection less often.
                await asyncio.sleep(self._linger)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()

    async def publish_batch(self) -> int:
        rows = await self._claim()
        if not rows:
            return 0
        try:
            batch = [(row.topic, _envelope(row)) for row in rows]
        except ValueError:
            return await self._one_by_one(rows)
        try:
            await self._producer.publish_many(batch)
        except UNPUBLISHABLE:
            return await self._one_by_one(rows)
        except BaseException:
            await self._set(rows, lease_until=None)
            raise
        await self._set(rows, sent_at=clock.now(), lease_until=None)
        self.published += len(rows)
        if self._on_published is not None:
            self._on_published(rows)
        return len(rows)

    async def _one_by_one(self, rows: list[OutboxMessage]) -> int:
        """A batch held a row the broker refuses: publish the rows singly, in order, and park
        the ones refused for good. Rows already acknowledged may go out twice; consumers
        keep each event id once (the inbox)."""
        done = 0
        for index, row in enumerate(rows):
            try:
                envelope = _envelope(row)
            except ValueError as exc:
                await self._park(row, exc)
                done += 1
                continue
            try:
                await self._producer.publish_many([(row.topic, envelope)])
            except UNPUBLISHABLE as exc:
                await self._park(row, exc)
                # The idempotent producer's sequence numbers now disagree with the broker's
                # (it never stored the refused batch); a new producer starts afresh.
                await self._producer.stop()
            except BaseException:
                await self._set(rows[index:], lease_until=None)
                raise
            else:
                await self._set([row], sent_at=datetime.now(UTC), lease_until=None)
                self.published += 1
            done += 1
        return done

    async def _park(self, row: OutboxMessage, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        log.error(
            "outbox relay: event %s for %s can never be published, parked: %s",
            row.event_id,
            row.topic,
            type(exc).__name__,
        )
        await self._set([row], parked_at=datetime.now(UTC), parked_reason=reason, lease_until=None)
        self.parked += 1

    async def _set(self, rows: list[OutboxMessage], **values: Any) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_([r.id for r in rows]))
                .values(**values)
            )

    async def _claim(self) -> list[OutboxMessage]:
        now = clock.now()
        async with self._sessions() as session, session.begin():
            query = (
                select(OutboxMessage)
                .where(col(OutboxMessage.sent_at).is_(None))
                .where(col(OutboxMessage.parked_at).is_(None))
                .where(
                    (col(OutboxMessage.lease_until).is_(None))
                    | (col(OutboxMessage.lease_until) < now)
                )
                .order_by(col(OutboxMessage.id))
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            )
            rows = list((await session.exec(query)).all())
            if rows:
                await session.execute(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_([r.id for r in rows]))
                    .values(lease_until=now + self._lease)
                )
            return rows

    async def pending(self) -> int:
        """Rows waiting to be published (parked ones are not waiting)."""
        async with self._sessions() as session:
            query = select(func.count()).where(
                col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.parked_at).is_(None)
            )
            return int((await session.exec(query)).one())

    async def parked_count(self) -> int:
        """Rows parked as unpublishable, in the database (every instance's)."""
        async with self._sessions() as session:
            query = select(func.count()).where(col(OutboxMessage.parked_at).is_not(None))
            return int((await session.exec(query)).one())


__all__ = ["OutboxMessage", "OutboxRelay", "add_event", "encode", "insert_staged", "outbox_row"]
