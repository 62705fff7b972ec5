"""The consumer loop: apply each event in one transaction with its inbox row, then commit.

Offsets are committed only after the handler's transaction; redelivery after a crash is
absorbed by the inbox. Events that can never be applied go to `deadletter.v1` with the
reason in `x-error-*` headers, and the loop moves on. Only malformed or invalid events, and
data the database refuses as such (storage.conflicts.is_bad_data), are permanent; anything
else (a database or broker fault, a bug) is retried with back-off, the partition paused at
that record and nothing committed, so nothing is skipped. A conflict that never clears
after a few re-applications is dead-lettered, at ERROR. At shutdown (`stop`) the loop
commits the poll it is applying, then leaves the group.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from tenacity import RetryCallState, wait_incrementing

from hub_shared.domain.invalid import PermanentEventError as PermanentEventError
from hub_shared.messaging.envelope import Envelope, MalformedEvent, decode
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.processed_events import BatchHandler, apply_batch
from hub_shared.messaging.topics import DEADLETTER
from hub_shared.storage.conflicts import is_bad_data, is_conflict, redo_on_conflict
from hub_shared.storage.db import SessionFactory

log = logging.getLogger(__name__)
_POSITION_WAIT = 5.0  # seconds for a partition's starting offset to be looked up


# Malformed or invalid events only: a bare ValueError or KeyError is a bug, retried.
_PERMANENT: tuple[type[Exception], ...] = (MalformedEvent, ValidationError, PermanentEventError)
_RETRY_FIRST, _RETRY_MAX = 0.5, 30.0  # seconds of back-off before a failed record's retry


class EventConsumer:
    """One consumer-group member applying events of some topics with a handler."""

    def __init__(
        self,
        *,
        name: str,
        bootstrap: str,
        group_id: str,
        topics: Sequence[str],
        handler: BatchHandler,
        sessions: SessionFactory,
        producer: Producer,
        after_commit: Callable[[], None] | None = None,
        max_records: int = 500,
        options: Mapping[str, Any] | None = None,
        offset_reset: str = "earliest",
        whole_poll: bool = False,
        conflict_tries: int = 5,
        stuck_after: float = 30.0,
    ) -> None:
        """`handler` applies a batch of new events in one transaction
        (`processed_events.one_by_one` makes one of a per-event handler). `whole_poll`: apply
        all the partitions of a poll in one transaction (the handler takes events of several
        topics and keys at once).
        A conflict is re-applied up to `conflict_tries` times; a record retried for more than
        `stuck_after` seconds makes the consumer `stuck`."""
        self._offset_reset = offset_reset
        self._options = dict(options or {})
        self.name = name
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._topics = list(topics)
        self._handler = handler
        self._sessions = sessions
        self._producer = producer
        self._after_commit = after_commit or (lambda: None)
        self._max_records = max_records
        self.running = False
        self.applied = 0
        self.dead_lettered = 0
        self.assigned_partitions = 0
        self._known: set[TopicPartition] = set()  # partitions with a looked-up position
        self._live: AIOKafkaConsumer | None = None  # the running client, for lag()
        self._whole_poll = whole_poll
        self._conflict_tries = conflict_tries
        self._stuck_after = stuck_after
        self.retries = 0  # transient failures retried since start
        self._stopping = False
        self._applying = False  # inside a poll's transactions and commit
        # A partition held at a failing record: (offset, first failure, tries, resume at).
        self._held: dict[TopicPartition, tuple[int, float, int, float]] = {}

    @property
    def stuck_seconds(self) -> float:
        """How long the oldest failing record has been retried (0 when none is)."""
        if not self._held:
            return 0.0
        return time.monotonic() - min(since for _o, since, _n, _r in self._held.values())

    @property
    def stuck(self) -> bool:
        """True while one record has been retried for more than `stuck_after` seconds."""
        return bool(self._held) and self.stuck_seconds > self._stuck_after

    @property
    def group_id(self) -> str:
        return self._group_id

    async def lag(self) -> dict[TopicPartition, int]:
        """Records not yet read per assigned partition: the broker's high watermark (as of
        the last fetch) less the position. A replica reports the partitions it holds."""
        consumer = self._live
        if consumer is None:
            return {}
        found = {}
        for tp in consumer.assignment() & self._known:
            high = consumer.highwater(tp)
            if high is None:
                continue
            try:
                async with asyncio.timeout(_POSITION_WAIT):
                    position = await consumer.position(tp)
            except (IllegalStateError, TimeoutError):
                continue  # revoked meanwhile: its new owner reports it
            found[tp] = max(0, high - position)
        return found

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> bool:
        """Shutdown. True when the loop may be cancelled now; False while it applies a poll:
        it then returns once that poll is committed, since a transaction cut by a
        cancellation can leave its connection checked out and its locks held."""
        self._stopping = True
        return not self._applying

    async def run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            consumer = self._make_consumer()
            try:
                await consumer.start()
                self.running, self._live = True, consumer
                backoff = 0.5
                await self._loop(consumer)
            except asyncio.CancelledError:
                raise
            except KafkaError as exc:
                log.warning("consumer %s: broker error, reconnecting: %s", self.name, exc)
            finally:
                self.running, self._live = False, None
                self.assigned_partitions = 0
                self._known = set()
                self._held = {}
                await consumer.stop()
            if not self._stopping:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def catch_up(self, ends: Mapping[TopicPartition, int]) -> None:
        """Apply every record before `ends` (from the group's committed offsets: offset 0
        for a new group), as the running loop does, then return: a rebuild is this."""
        consumer = self._make_consumer()
        await consumer.start()
        self.running = True
        try:
            left = {tp for tp, end in ends.items() if end > 0}
            while left:
                self._resume_due(consumer)
                batches = await consumer.getmany(timeout_ms=500, max_records=self._max_records)
                await self._note_assignment(consumer, batches)
                if batches and (offsets := await self._apply_poll(consumer, batches)):
                    await consumer.commit(offsets)
                for tp in left & consumer.assignment():
                    if await consumer.position(tp) >= ends[tp]:
                        left.discard(tp)
        finally:
            self.running = False
            await consumer.stop()

    def _make_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            client_id=f"{self._group_id}-{self.name}",
            enable_auto_commit=False,
            auto_offset_reset=self._offset_reset,
            max_poll_records=self._max_records,
            **self._options,
        )

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping:
            self._resume_due(consumer)
            batches = await consumer.getmany(timeout_ms=500, max_records=self._max_records)
            self._applying = True
            try:
                await self._note_assignment(consumer, batches)
                if batches:
                    await self._apply_and_commit(consumer, batches)
            finally:
                self._applying = False

    async def _apply_and_commit(
        self,
        consumer: AIOKafkaConsumer,
        batches: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]],
    ) -> None:
        offsets = await self._apply_poll(consumer, batches)
        if not offsets:
            return
        try:
            # One commit for every partition of the poll, after their transactions.
            await consumer.commit(offsets)
        except CommitFailedError as exc:
            # A rebalance moved a partition; its new owner re-reads from the last commit and
            # the inbox absorbs what we already applied.
            log.info("consumer %s: commit skipped after rebalance: %s", self.name, exc)

    async def _note_assignment(
        self,
        consumer: AIOKafkaConsumer,
        batches: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]],
    ) -> None:
        """Count newly assigned partitions once each has a position. With `latest`, a
        partition new to the group is also pinned there (its first unapplied offset
        committed), so a rebalance before its first record cannot reset it to a later end
        and skip what was published in between."""
        assignment = consumer.assignment()
        new = assignment - self._known
        if new:
            try:
                starts: dict[TopicPartition, int] = {}
                for tp in new:
                    async with asyncio.timeout(_POSITION_WAIT):
                        position = await consumer.position(tp)
                    records = batches.get(tp)
                    starts[tp] = int(records[0].offset) if records else position
                if self._offset_reset == "latest":
                    await self._pin(consumer, starts)
            except (IllegalStateError, TimeoutError, CommitFailedError):
                return  # revoked or still resolving mid-rebalance: again on the next poll
        self._known = set(assignment)
        self.assigned_partitions = len(assignment)

    @staticmethod
    async def _pin(consumer: AIOKafkaConsumer, starts: Mapping[TopicPartition, int]) -> None:
        unpinned = {tp: at for tp, at in starts.items() if await consumer.committed(tp) is None}
        if unpinned:
            await consumer.commit(unpinned)

    async def _apply_poll(
        self,
        consumer: AIOKafkaConsumer,
        batches: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]],
    ) -> dict[TopicPartition, int]:
        """Apply a poll's records; the offsets to commit. With `whole_poll`, every
        partition's records go in one transaction first; if that fails, each partition
        is applied on its own as below."""
        records = [r for rs in batches.values() for r in rs]
        if self._whole_poll and len(batches) > 1 and await self._apply_all(records):
            return {tp: int(rs[-1].offset) + 1 for tp, rs in batches.items()}
        offsets: dict[TopicPartition, int] = {}
        for tp, rs in batches.items():
            done = await self._apply_partition(consumer, tp, rs)
            if done is not None:
                offsets[tp] = done + 1
        return offsets

    async def _apply_partition(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[ConsumerRecord[Any, Any]],
    ) -> int | None:
        """Apply records in order; returns the last applied offset, or None.

        Fast path: the whole batch in one transaction. If anything in it fails, that
        transaction is rolled back and the records are applied one by one, so a bad record
        is dead-lettered alone and a fault is retried from the right offset."""
        if len(records) > 1 and await self._apply_all(records):
            self._held.pop(tp, None)
            return int(records[-1].offset)
        last: int | None = None
        for record in records:
            try:
                await self._apply(record)
            except _Transient as exc:
                self._hold(consumer, tp, record, exc.__cause__)
                return last
            self._held.pop(tp, None)
            last = record.offset
        return last

    def _hold(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        record: ConsumerRecord[Any, Any],
        cause: BaseException | None,
    ) -> None:
        """Seek back to a record that failed for a passing reason and pause its partition
        for a growing back-off; the other partitions go on."""
        offset, since, tries, _at = self._held.get(tp, (record.offset, time.monotonic(), 0, 0.0))
        if offset != record.offset:
            since, tries = time.monotonic(), 0
        tries += 1
        delay = min(_RETRY_FIRST * 2 ** (tries - 1), _RETRY_MAX)
        # A database or broker fault is expected now and then; anything else is a bug,
        # logged with its traceback on the first try (and retried all the same).
        expected = isinstance(cause, Exception) and _is_connection_error(cause)
        log.log(
            logging.WARNING if expected else logging.ERROR,
            "consumer %s: %s[%d]@%d failed (try %d), retried in %.1f s: %s: %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            tries,
            delay,
            type(cause).__name__,
            cause,
            exc_info=cause if tries == 1 and not expected else None,
        )
        self.retries += 1
        self._held[tp] = (record.offset, since, tries, time.monotonic() + delay)
        consumer.seek(tp, record.offset)
        consumer.pause(tp)

    def _resume_due(self, consumer: AIOKafkaConsumer) -> None:
        """Resume the paused partitions whose back-off has passed."""
        now, assigned = time.monotonic(), consumer.assignment()
        for tp, (_offset, _since, _tries, resume_at) in list(self._held.items()):
            if tp not in assigned:
                del self._held[tp]  # revoked: its new owner retries from the last commit
            elif resume_at <= now and tp in consumer.paused():
                consumer.resume(tp)

    async def _apply_all(self, records: list[ConsumerRecord[Any, Any]]) -> bool:
        try:
            items = [(r.topic, decode(r.key, r.value, list(r.headers or ()))) for r in records]
            applied = await apply_batch(self._sessions, self._handler, self.name, items)
        except Exception as exc:
            log.debug(
                "consumer %s: batch of %d falls back to one by one: %s",
                self.name,
                len(records),
                exc,
            )
            return False
        self.applied += applied
        if applied:
            self._after_commit()
        return True

    async def _apply(self, record: ConsumerRecord[Any, Any]) -> None:
        """Apply one record, or dead-letter it when it can never be applied; raises
        _Transient for a failure to retry later from this record."""
        headers = list(record.headers or ())
        try:
            envelope = decode(record.key, record.value, headers)
        except MalformedEvent as exc:
            await self._dead_letter(record, exc)
            return
        try:
            # Another instance changed the same rows at the same moment: re-run against
            # the now-committed state, after 50 ms, then 100 ms and so on: a busy matcher
            # instance may hold the rows a while.
            redo = redo_on_conflict(
                self._conflict_tries,
                before_redo=self._redo,
                wait=wait_incrementing(start=0.05, increment=0.05),
            )
            async for attempt in redo:
                with attempt:
                    await self._apply_once(record.topic, envelope)
        except _PERMANENT as exc:
            await self._dead_letter(record, exc)
        except Exception as exc:
            if is_bad_data(exc):  # it can never be stored: holding the partition helps no one
                await self._dead_letter(record, exc)
                return
            if not is_conflict(exc):
                raise _Transient from exc
            await self._dead_letter(record, exc)  # still conflicting after every redo

    def _redo(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info("consumer %s: concurrent change, re-applying: %s", self.name, exc)

    async def _apply_once(self, topic: str, envelope: Envelope) -> None:
        if await apply_batch(self._sessions, self._handler, self.name, [(topic, envelope)]):
            self.applied += 1
            self._after_commit()

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], exc: Exception) -> None:
        log.error(
            "consumer %s: %s[%d]@%d dead-lettered: %s: %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            type(exc).__name__,
            str(exc)[:500],
        )
        headers = [
            *list(record.headers or ()),
            ("x-error-type", type(exc).__name__.encode()),
            ("x-error-message", str(exc)[:2000].encode()),
            ("x-error-consumer", self.name.encode()),
            ("x-original-topic", record.topic.encode()),
            ("x-original-partition", str(record.partition).encode()),
            ("x-original-offset", str(record.offset).encode()),
        ]
        await self._producer.publish_raw(
            DEADLETTER.name, key=record.key, value=record.value, headers=headers
        )
        self.dead_lettered += 1


class _Transient(Exception):
    """Raised internally for faults that must be retried without committing."""


def _is_connection_error(exc: Exception) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError | OSError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
