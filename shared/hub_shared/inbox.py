"""The inbox: ids of events a consumer has applied, recorded in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=64)
    topic: str = Field(max_length=64)
    processed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


async def seen(session: AsyncSession, consumer: str, event_id: str) -> bool:
    return await session.get(ProcessedEvent, (consumer, event_id)) is not None


def record(session: AsyncSession, consumer: str, event_id: str, topic: str) -> None:
    session.add(ProcessedEvent(consumer=consumer, event_id=event_id, topic=topic))
