"""Verifying a service's audit trail: its database's chain, held to the heads it published
on audit.v1 (read from the beginning to the current end)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from hub_shared.audit.chain import CONTENT_FIELDS, Finding, Head, Link, verify
from hub_shared.audit.tables import AuditAnchor, AuditEntry
from hub_shared.messaging.envelope import MalformedEvent, decode
from hub_shared.messaging.events import AuditHeadData
from hub_shared.messaging.topics import AUDIT


async def stored_chain(engine: AsyncEngine) -> tuple[Head | None, list[Link]]:
    """The anchor (None until something was pruned) and every entry, by sequence number."""
    async with engine.connect() as conn:
        anchor_row = (
            await conn.execute(select(col(AuditAnchor.seq), col(AuditAnchor.entry_hash)))
        ).first()
        rows = (
            (await conn.execute(select(AuditEntry).order_by(col(AuditEntry.seq)))).mappings().all()
        )
    anchor = Head(int(anchor_row[0]), str(anchor_row[1])) if anchor_row else None
    links = [
        Link(
            seq=int(row["seq"]),
            content={name: str(row[name]) for name in CONTENT_FIELDS},
            prev_hash=str(row["prev_hash"]),
            entry_hash=str(row["entry_hash"]),
        )
        for row in rows
    ]
    return anchor, links


async def published_heads(
    bootstrap: str, chain: str, *, options: dict[str, Any] | None = None, timeout: float = 30
) -> list[Head]:
    """Every head of `chain` (audit_chain) published on audit.v1 still in the topic."""
    # Without a group the consumer assigns itself every partition of the topic.
    # "earliest": a reset to the end racing the seek below would skip every head.
    consumer = AIOKafkaConsumer(
        AUDIT.name,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **(options or {}),
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            # aiokafka offers no event for a group-less assignment: look until it is there.
            while not consumer.assignment():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        partitions = sorted(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        heads: list[Head] = []
        async with asyncio.timeout(timeout):
            while await _behind(consumer, ends):
                batch = await consumer.getmany(*partitions, timeout_ms=500)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset >= ends[tp] or record.key != chain.encode():
                            continue
                        heads.extend(_head_of(record.key, record.value, record.headers))
        return heads
    finally:
        # aiokafka's group-less coordinator lets its own task's cancellation escape stop().
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


def _head_of(key: bytes | None, value: bytes | None, headers: Any) -> list[Head]:
    try:
        data = AuditHeadData.model_validate(decode(key, value, list(headers)).data)
    except (MalformedEvent, ValueError):
        return []
    return [Head(data.seq, data.entry_hash)]


async def verify_service(
    engine: AsyncEngine, *, heads: list[Head]
) -> tuple[Finding | None, int, int]:
    """The first fault (or None), how many entries were walked, how many heads checked."""
    anchor, links = await stored_chain(engine)
    return verify(links, anchor=anchor, heads=heads), len(links), len(heads)
