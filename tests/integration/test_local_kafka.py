"""The test broker is a real Kafka: topics as registered, records kept across restarts."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import RecordMetadata

from hub_shared.messaging.topics import ALL_TOPICS, PERMITS
from hubtools.kafka import LocalKafka

WAIT_SECONDS = 30


async def _produce(
    bootstrap: str, records: dict[str, tuple[bytes, bytes]]
) -> dict[str, RecordMetadata]:
    """topic → (key, value), sent with the outbox relay's settings; topic → where it landed."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        return {
            topic: await producer.send_and_wait(topic, value, key=key)
            for topic, (key, value) in records.items()
        }
    finally:
        await producer.stop()


async def _read_at(bootstrap: str, topic: str, meta: RecordMetadata) -> tuple[bytes, bytes]:
    """The key and value of the record at `meta`'s partition and offset."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, meta.partition)
        consumer.assign([partition])
        consumer.seek(partition, meta.offset)
        async with asyncio.timeout(WAIT_SECONDS):
            record = await consumer.getone()
        return record.key, record.value
    finally:
        await consumer.stop()


async def test_every_hub_topic_exists_with_the_configured_partition_count(
    kafka: LocalKafka,
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic.name for topic in ALL_TOPICS])
    finally:
        await admin.close()

    counts = {d["topic"]: len(d["partitions"]) for d in described if d["error_code"] == 0}
    assert counts == {topic.name: kafka.partitions for topic in ALL_TOPICS}


async def test_a_record_round_trips_through_every_topic_via_a_consumer_group(
    kafka: LocalKafka,
) -> None:
    run = uuid.uuid4().hex
    sent = {
        topic.name: (f"{run}-key".encode(), f"{run}-{topic.name}".encode()) for topic in ALL_TOPICS
    }
    await _produce(kafka.bootstrap, sent)

    consumer = AIOKafkaConsumer(
        *sent,
        bootstrap_servers=kafka.bootstrap,
        group_id=f"round-trip-{run}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: dict[str, tuple[bytes, bytes]] = {}
    try:
        # The shared topics hold the whole session's history before our records: read it in
        # batches (one record at a time took longer than the wait after a full suite).
        async with asyncio.timeout(WAIT_SECONDS):
            while received.keys() != sent.keys():
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for record in (r for records in batches.values() for r in records):
                    # deadletter.v1 may also get copies of our other records: services of
                    # other tests reading the topics from the start dead-letter them.
                    if (record.key, record.value) == sent[record.topic]:
                        received[record.topic] = (record.key, record.value)
    finally:
        await consumer.stop()

    assert received == sent


async def test_a_record_produced_before_restart_is_read_after_it(kafka: LocalKafka) -> None:
    record = (b"370811202103150101", uuid.uuid4().bytes)
    landed = await _produce(kafka.bootstrap, {PERMITS.name: record})

    await asyncio.to_thread(kafka.restart)

    assert await _read_at(kafka.bootstrap, PERMITS.name, landed[PERMITS.name]) == record


async def test_a_record_acknowledged_before_a_broker_crash_is_read_after_restart(
    kafka: LocalKafka,
) -> None:
    record = (b"370811202103150102", uuid.uuid4().bytes)
    landed = await _produce(kafka.bootstrap, {PERMITS.name: record})

    kafka.kill()
    assert not kafka.running
    await asyncio.to_thread(kafka.restart)

    assert await _read_at(kafka.bootstrap, PERMITS.name, landed[PERMITS.name]) == record
