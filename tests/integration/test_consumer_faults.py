"""The consumer loop under faults: a conflict that never clears is dead-lettered loudly, a
passing fault is retried with the partition held (never dead-lettered), and a consumer
retrying one record for too long shows in /readyz and the metrics."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import insert, text
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.processed_events import ProcessedEvent
from hub_shared.runtime import ServiceRuntime
from hubtools.kafka import LocalKafka
from permit_ingest.tables import SCHEMA
from tests.support.hub import settings_for, topic_records, wait_for, write_config


@pytest.fixture
async def topic(kafka: LocalKafka) -> str:
    """A topic of its own, so that no other test's records reach the handler."""
    name = f"test-faults-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return name


@pytest.fixture
async def runtime(
    kafka: LocalKafka, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[ServiceRuntime]:
    settings = settings_for(
        "permit-ingest",
        config=write_config(tmp_path / "hub.toml"),
        bootstrap=kafka.bootstrap,
        database_url=sqlite_url,
        data_dir=tmp_path,
    )
    built = ServiceRuntime(settings.model_copy(update={"consumer_stuck_seconds": 0.5}), SCHEMA)
    yield built
    await built.stop()


async def _publish(kafka: LocalKafka, topic: str) -> Envelope:
    event = Envelope.new("permit.issued", source="/test", key=uuid.uuid4().hex, data={"n": 1})
    producer = Producer(kafka.bootstrap, client_id="test-faults")
    await producer.start()
    try:
        await producer.publish_many([(topic, event)])
    finally:
        await producer.stop()
    return event


async def _dead_lettered(kafka: LocalKafka, event: Envelope) -> list[object]:
    records = await topic_records(kafka.bootstrap, "deadletter.v1")
    return [r for r in records if dict(r.headers).get("ce_id") == event.id.encode()]


async def test_a_conflict_that_never_clears_is_dead_lettered_with_an_error_log(
    runtime: ServiceRuntime, kafka: LocalKafka, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def violates_a_constraint(session: AsyncSession, events: Sequence[Envelope]) -> None:
        row = {"consumer": "twice", "event_id": events[0].id, "topic": topic}
        await session.execute(insert(ProcessedEvent), [row, row])

    consumer = runtime.add_consumer(
        name="conflicts", topics=[topic], handler=violates_a_constraint, batched=True
    )
    caplog.set_level(logging.INFO, logger="hub_shared.messaging.consumer")
    await runtime.start()
    event = await _publish(kafka, topic)

    records = await wait_for(lambda: _dead_lettered(kafka, event), what="the dead letter")

    assert dict(records[0].headers)["x-error-type"] == b"IntegrityError"  # type: ignore[attr-defined]
    assert consumer.dead_lettered == 1 and consumer.applied == 0
    assert any(
        r.levelno == logging.ERROR and "dead-lettered" in r.getMessage() for r in caplog.records
    )


async def test_a_transient_fault_is_retried_and_shows_as_stuck_while_it_lasts(
    runtime: ServiceRuntime, kafka: LocalKafka, topic: str
) -> None:
    healed = asyncio.Event()
    calls = 0

    async def pool_exhausted(session: AsyncSession, events: Sequence[Envelope]) -> None:
        nonlocal calls
        calls += 1
        if not healed.is_set():
            raise PoolTimeoutError("QueuePool limit reached, connection timed out")

    consumer = runtime.add_consumer(
        name="transient", topics=[topic], handler=pool_exhausted, batched=True
    )
    await runtime.start()
    event = await _publish(kafka, topic)

    async def stuck() -> bool:
        return consumer.stuck

    await wait_for(stuck, what="the consumer to report itself stuck")
    checks = await runtime.readiness()
    metrics = (await runtime.metrics.render()).decode()
    assert checks["consumer:transient:progressing"] is False
    assert 'hub_consumer_stuck{consumer="transient"} 1.0' in metrics
    assert calls >= 2 and consumer.dead_lettered == 0

    healed.set()

    async def applied() -> bool:
        return consumer.applied == 1

    await wait_for(applied, what="the record applied once the fault cleared")
    assert (await runtime.readiness())["consumer:transient:progressing"] is True
    assert (
        'hub_consumer_stuck{consumer="transient"} 0.0' in (await runtime.metrics.render()).decode()
    )
    assert consumer.dead_lettered == 0
    assert await _dead_lettered(kafka, event) == []


async def test_a_bug_raising_key_error_is_retried_not_dead_lettered(
    runtime: ServiceRuntime, kafka: LocalKafka, topic: str
) -> None:
    fixed = asyncio.Event()

    async def buggy(session: AsyncSession, events: Sequence[Envelope]) -> None:
        if not fixed.is_set():
            raise KeyError("a bug, not bad input")

    consumer = runtime.add_consumer(name="buggy", topics=[topic], handler=buggy, batched=True)
    await runtime.start()
    event = await _publish(kafka, topic)

    async def retried_twice() -> bool:
        return consumer.retries >= 2

    await wait_for(retried_twice, what="the failing record retried")
    fixed.set()

    async def applied() -> bool:
        return consumer.applied == 1

    await wait_for(applied, what="the record applied once the bug is gone")
    assert consumer.dead_lettered == 0
    assert await _dead_lettered(kafka, event) == []


async def test_a_record_the_database_refuses_as_data_is_dead_lettered_not_retried(
    kafka: LocalKafka, database_url: str, tmp_path: Path, topic: str
) -> None:
    """PostgreSQL's class 22 (here division by zero; a NUL in text is another) and SQLite's
    integer overflow can never succeed: the record goes to deadletter.v1 at once instead of
    holding its partition for ever."""
    settings = settings_for(
        "permit-ingest", config=write_config(tmp_path / "hub.toml"), bootstrap=kafka.bootstrap,
        database_url=database_url, data_dir=tmp_path,
    )  # fmt: skip
    runtime = ServiceRuntime(settings, SCHEMA)
    postgres = database_url.startswith("postgresql")

    async def refuses_as_data(session: AsyncSession, events: Sequence[Envelope]) -> None:
        if postgres:
            await session.execute(text("SELECT 1 / 0"))
        else:
            await session.execute(text("SELECT :n"), {"n": 2**70})

    consumer = runtime.add_consumer(
        name="bad-data", topics=[topic], handler=refuses_as_data, batched=True
    )
    try:
        await runtime.start()
        event = await _publish(kafka, topic)
        records = await wait_for(lambda: _dead_lettered(kafka, event), what="the dead letter")
    finally:
        await runtime.stop()

    error = dict(records[0].headers)["x-error-type"]  # type: ignore[attr-defined]
    assert error == (b"DBAPIError" if postgres else b"OverflowError")
    assert consumer.dead_lettered == 1 and consumer.applied == 0


async def test_shutdown_lets_the_poll_in_hand_commit_and_then_stops_the_loop(
    runtime: ServiceRuntime, kafka: LocalKafka, topic: str
) -> None:
    inside, release = asyncio.Event(), asyncio.Event()
    cut: list[bool] = []

    async def slow(session: AsyncSession, events: Sequence[Envelope]) -> None:
        inside.set()
        try:
            await release.wait()  # the transaction is open here when shutdown begins
        except asyncio.CancelledError:
            cut.append(True)
            raise

    consumer = runtime.add_consumer(name="slow", topics=[topic], handler=slow, batched=True)
    await runtime.start()
    event = await _publish(kafka, topic)
    async with asyncio.timeout(30):
        await inside.wait()

    stopping = asyncio.create_task(runtime.stop())

    async def asked_to_stop() -> bool:
        return consumer.stopping

    await wait_for(asked_to_stop, what="shutdown to reach the consumer")
    assert not stopping.done()  # it waits for the transaction instead of cutting it
    release.set()
    async with asyncio.timeout(5):  # well under the 10 s after which a task is cancelled
        await stopping

    assert cut == []  # the handler was never cancelled
    assert runtime.abandoned == []
    assert consumer.applied == 1 and consumer.running is False
    async with runtime.sessions() as session:
        kept = (await session.execute(text("SELECT event_id FROM inbox"))).scalars().all()
    assert kept == [event.id]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(consumer.group_id)
    finally:
        await admin.close()
    assert {tp.topic: meta.offset for tp, meta in committed.items()} == {topic: 1}
