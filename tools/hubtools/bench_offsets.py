"""What the backlog benchmark reads from Kafka itself, never from a service's internals:
end offsets, the offsets a service's consumer groups committed, a raw consume rate, and
the alerts a service published."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

ALERTS_TOPIC = "alerts.v1"


async def partitions(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        for p in topic["partitions"]
    ]


async def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
    wanted = await partitions(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(wanted)
        return ends
    finally:
        await consumer.stop()


async def committed(bootstrap: str, group_prefix: str) -> dict[TopicPartition, int]:
    """For each partition, the highest offset any group named `<group_prefix>-…` committed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        out: dict[TopicPartition, int] = {}
        for group, *_ in await admin.list_consumer_groups():
            if not str(group).startswith(f"{group_prefix}-"):
                continue
            for tp, meta in (await admin.list_consumer_group_offsets(group)).items():
                if meta.offset >= 0:
                    out[tp] = max(out.get(tp, 0), meta.offset)
        return out
    finally:
        await admin.close()


def lag(ends: Mapping[TopicPartition, int], done: Mapping[TopicPartition, int]) -> int:
    """Records on `ends`'s partitions not yet behind a committed offset."""
    return sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items())


async def raw_consume(bootstrap: str, topics: list[str], want: int, timeout: float) -> float:
    """Records per second read by a bare aiokafka consumer from the start of the topics."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_poll_records=2000)  # fmt: skip
    await consumer.start()
    seen = 0
    began = time.perf_counter()
    try:
        while seen < want and time.perf_counter() - began < timeout:
            got = await consumer.getmany(timeout_ms=1000, max_records=2000)
            seen += sum(len(v) for v in got.values())
    finally:
        await consumer.stop()
    return seen / (time.perf_counter() - began)


async def open_alerts(
    bootstrap: str, since: Mapping[TopicPartition, int], kind: str, timeout: float = 120
) -> set[str]:
    """Subjects (permit_no) of the `kind` alerts raised after `since` and still open at the
    end of alerts.v1: alert.raised and alert.resolved folded by alert_id."""
    ends = await end_offsets(bootstrap, [ALERTS_TOPIC])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    state: dict[str, tuple[str, bool]] = {}  # alert_id -> (permit_no, open)
    try:
        consumer.assign(list(ends))
        for tp in ends:
            consumer.seek(tp, since.get(tp, 0))
        remaining = {tp for tp, end in ends.items() if end > since.get(tp, 0)}
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            got = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for tp, records in got.items():
                for record in records:
                    if record.offset < ends[tp]:
                        _fold(state, record.value, kind)
                if records and records[-1].offset >= ends[tp] - 1:
                    remaining.discard(tp)
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
    return {subject for subject, is_open in state.values() if is_open}


def _fold(state: dict[str, tuple[str, bool]], value: bytes | None, kind: str) -> None:
    try:
        alert = json.loads(value or b"")
    except ValueError:
        return
    if not isinstance(alert, dict) or alert.get("kind") != kind:
        return
    state[alert["alert_id"]] = (str(alert["subject"].get("permit_no")), alert["status"] == "open")
