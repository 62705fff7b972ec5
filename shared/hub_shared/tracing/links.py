"""Where a trace continues after a set-based step: a consumer notes each received
event's `traceparent` (by event id and record key, in the batch's own transaction), and
what it later stages for those events (an alert raised for a permit, a webhook for an
alert) looks the trace up again. Written only while tracing is on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from opentelemetry.trace import SpanKind
from sqlalchemy import insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.messaging.envelope import Envelope
from hub_shared.tracing.context import active, span


class TraceLink(SQLModel, table=True):
    __tablename__ = "trace_links"

    event_id: str = Field(primary_key=True, max_length=64)
    record_key: str | None = Field(default=None, max_length=128, index=True)
    traceparent: str = Field(max_length=64)
    recorded_at: datetime


async def note_received(session: AsyncSession, consumer: str, events: Sequence[Envelope]) -> None:
    """A span per received event that carries a trace, and its link row."""
    traced = [e for e in events if e.traceparent] if active() else []
    if not traced:
        return
    now, rows = clock.now(), []
    for envelope in traced:
        with span(
            f"{consumer} receive {envelope.name}",
            traceparent=envelope.traceparent,
            kind=SpanKind.CONSUMER,
        ) as own:
            rows.append(
                {
                    "event_id": envelope.id,
                    "record_key": envelope.key,
                    "traceparent": own or envelope.traceparent,
                    "recorded_at": now,
                }
            )
    await session.execute(insert(TraceLink).prefix_with("OR IGNORE", dialect="sqlite"), rows)


async def of_events(session: AsyncSession, event_ids: Sequence[str]) -> dict[str, str]:
    """The `traceparent` noted for each of these event ids that has one."""
    if not active() or not event_ids:
        return {}
    query = select(col(TraceLink.event_id), col(TraceLink.traceparent)).where(
        col(TraceLink.event_id).in_(list(event_ids))
    )
    return {event_id: tp for event_id, tp in (await session.exec(query)).all()}


async def latest_of_keys(session: AsyncSession, keys: Sequence[str]) -> dict[str, str]:
    """The newest `traceparent` noted for each of these record keys that has one."""
    if not active() or not keys:
        return {}
    query = (
        select(col(TraceLink.record_key), col(TraceLink.traceparent))
        .where(col(TraceLink.record_key).in_(list(keys)))
        .order_by(col(TraceLink.recorded_at))
    )
    return {key: tp for key, tp in (await session.exec(query)).all() if key is not None}


def add_tracing_columns() -> None:
    """In a service's revision: outbox.traceparent and the trace_links table."""
    from alembic import op
    from sqlalchemy import Column, String
    from sqlmodel.sql.sqltypes import UTCDateTime

    op.add_column("outbox", Column("traceparent", String(64), nullable=True))
    op.create_table(
        "trace_links",
        Column("event_id", String(64), primary_key=True),
        Column("record_key", String(128), nullable=True),
        Column("traceparent", String(64), nullable=False),
        Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_trace_links_record_key", "trace_links", ["record_key"])


def drop_tracing_columns() -> None:
    from alembic import op

    op.drop_index("ix_trace_links_record_key", "trace_links")
    op.drop_table("trace_links")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("traceparent")


async def carry(
    session: AsyncSession, rows: Sequence[dict[str, object]], causes: Sequence[Sequence[str]]
) -> None:
    """Outbox rows staged by a set-based step continue the trace of the event that caused
    each (`causes[i]`: row i's cause event ids, first traced one wins)."""
    if not active() or not rows:
        return
    found = await of_events(session, [event_id for ids in causes for event_id in ids])
    for row, ids in zip(rows, causes, strict=True):
        traced = next((found[i] for i in ids if i in found), None)
        if traced is not None:
            row["traceparent"] = traced
