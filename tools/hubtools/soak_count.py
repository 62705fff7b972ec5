"""Counting the soak's outcome from what is on the topics and at the office."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer

# kind -> (topic, the data field naming the request)
TOPICS = {
    "permit": ("permits.v1", "permit_no"),
    "enrollment": ("enrollments.v1", "enrollment_id"),
    "accident": ("accidents.v1", "report_id"),
    "disease": ("diseases.v1", "diagnosis_id"),
}


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record now on `topic`, from the beginning to the current end."""
    # Without a group, a consumer subscribed to a topic is assigned all its partitions.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        for _ in range(300):
            if consumer.assignment():
                break
            await asyncio.sleep(0.1)
        partitions = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*partitions, timeout_ms=500)
            for tp, got in batch.items():
                records += [r for r in got if r.offset < ends[tp]]
                if got and got[-1].offset >= ends[tp] - 1:
                    pending.discard(tp)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return records
    finally:
        with contextlib.suppress(asyncio.CancelledError):  # aiokafka's group-less stop
            await consumer.stop()


def event_ids(records: list[Any], field: str) -> dict[str, set[str]]:
    """Request id -> the distinct CloudEvents ids of its events."""
    out: dict[str, set[str]] = defaultdict(set)
    for record in records:
        headers = dict(record.headers)
        try:
            data = json.loads(record.value)
        except (TypeError, ValueError):
            continue
        if isinstance(data, dict) and field in data:
            out[str(data[field])].add(headers.get("ce_id", b"").decode())
    return out


def outcome(accepted: set[str], ids: dict[str, set[str]]) -> tuple[int, int]:
    """(lost, duplicated): accepted requests with no event, and with two or more."""
    lost = sum(1 for key in accepted if not ids.get(key))
    duplicated = sum(1 for key in accepted if len(ids.get(key, ())) > 1)
    return lost, duplicated
