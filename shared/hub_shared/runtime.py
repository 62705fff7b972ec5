"""What every service runs besides its routes: database, producer, outbox relay, consumers,
background workers, readiness. Built in the app's lifespan, never at import time."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

from hub_shared.audit.trail import AuditTrail, audit_chain
from hub_shared.config import ServiceSettings
from hub_shared.messaging.consumer import EventConsumer
from hub_shared.messaging.kafka import Producer, connection_options
from hub_shared.messaging.kafka import ping as kafka_ping
from hub_shared.messaging.outbox import OutboxMessage, OutboxRelay
from hub_shared.messaging.processed_events import BatchHandler, BatchPrepare, Handler, one_by_one
from hub_shared.messaging.topics import event_name
from hub_shared.metrics import Metrics
from hub_shared.operator_metrics import OperatorMetrics
from hub_shared.storage.db import make_engine, make_sessions
from hub_shared.storage.db import ping as db_ping
from hub_shared.storage.group_commit import GroupCommitter
from hub_shared.storage.migrations import Schema, migrate
from hub_shared.storage.retention import Pruner, standard_rules, trace_link_rule
from hub_shared.tracing import make_tracer, use_tracer

log = logging.getLogger(__name__)
Worker = Callable[[], Awaitable[None]]


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings, schema: Schema) -> None:
        self.settings = settings
        self.source = f"/hub/{settings.service}"
        self.engine = make_engine(settings.database_url)
        self.sessions = make_sessions(self.engine)
        self.kafka_options = connection_options(settings.kafka_tls)
        self.producer = Producer(
            settings.kafka_bootstrap, client_id=settings.service, options=self.kafka_options
        )
        # Every exchange in and out is appended to the service's hash-chained audit trail.
        self.audit = AuditTrail(
            self.engine,
            self.producer,
            service=settings.service,
            chain=audit_chain(settings),
            config=settings.hub.audit,
        )
        self.relay = OutboxRelay(self.sessions, self.producer, on_published=self._audit_published)
        # REST and webhook writes: concurrent requests share a transaction (group commit).
        self.writes = GroupCommitter(self.engine, after_commit=self.relay.notify)
        self.metrics = Metrics(settings.service)
        self.tracer, self._trace_provider = make_tracer(settings.service, settings.otel_endpoint)
        self.consumers: list[EventConsumer] = []
        retention = settings.hub.retention
        self.pruner = Pruner(self.sessions, retention, standard_rules(retention))
        self._workers: list[tuple[str, Worker]] = [
            ("outbox-relay", self.relay.run),
            ("audit-appender", self.audit.run_appender),
            ("audit-heads", self.audit.run_head_publisher),
            ("audit-pruner", self.audit.run_pruner),
            ("retention", self.pruner.run),
        ]
        # Workers asked to stop rather than cancelled: each says whether it may be
        # cancelled now, or returns by itself once the transaction in hand is committed.
        self._stoppers: dict[str, Callable[[], bool]] = {"audit-appender": self.audit.stop_appender}
        self.schema = schema
        self._tasks: list[asyncio.Task[None]] = []
        self.abandoned: list[str] = []  # background tasks that did not stop when told to
        self.metrics.collectors.append(self._collect)
        if self.tracer is not None:
            self.pruner.add(trace_link_rule(settings.hub.matching.grace_seconds))
        self.metrics.collectors.append(
            OperatorMetrics(self.metrics.registry).collector(self.sessions, self.consumers)
        )

    def add_consumer(
        self,
        *,
        name: str,
        topics: Sequence[str],
        handler: Handler | BatchHandler,
        batched: bool = False,
        stages_events: bool = True,
        whole_poll: bool = False,
        prepare_batch: BatchPrepare | None = None,
        max_records: int = 500,
        after_commit: Callable[[], None] | None = None,
    ) -> EventConsumer:
        """`handler` takes one event, or with `batched` a poll's new events at once (a
        set-based handler). `stages_events=False` for a handler that never writes the
        outbox: the relay is then not woken after each of its commits (it still polls).
        `after_commit` runs after each commit that applied new events."""
        if not batched:
            handler = one_by_one(cast(Handler, handler), prepare_batch)
        hooks = [h for h in (self.relay.notify if stages_events else None, after_commit) if h]

        def committed() -> None:
            for hook in hooks:
                hook()

        consumer = EventConsumer(
            name=name,
            bootstrap=self.settings.kafka_bootstrap,
            group_id=f"{self.settings.consumer_group_prefix}-{self.settings.service}-{name}",
            topics=topics,
            handler=cast(BatchHandler, handler),
            sessions=self.sessions,
            producer=self.producer,
            after_commit=committed,
            options=self.kafka_options,
            offset_reset=self.settings.consumer_offset_reset,
            whole_poll=whole_poll,
            max_records=max_records,
            stuck_after=self.settings.consumer_stuck_seconds,
        )
        self.consumers.append(consumer)
        self._workers.append((f"consumer-{name}", consumer.run))
        self._stoppers[f"consumer-{name}"] = consumer.stop
        return consumer

    def add_worker(self, name: str, worker: Worker) -> None:
        self._workers.append((name, worker))

    async def start(self) -> None:
        use_tracer(self.tracer)  # the background tasks created below inherit it
        await migrate(self.engine, self.schema)
        await self.producer.start()
        self.writes.start()
        self._tasks = [
            asyncio.create_task(self._supervise(name, w), name=name) for name, w in self._workers
        ]

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop background work, then the producer and the engine; each step is bounded so a
        stuck connection cannot hang shutdown (what was not committed is redone on restart)."""
        try:
            async with asyncio.timeout(timeout):
                await self.writes.stop()
        except TimeoutError:
            log.warning("writes in flight did not finish within %.0f s", timeout)
        for task in self._tasks:
            stop = self._stoppers.get(task.get_name())
            if stop is None or stop():
                task.cancel()
        if self._tasks:
            _done, stuck = await asyncio.wait(self._tasks, timeout=timeout)
            self.abandoned = sorted(task.get_name() for task in stuck)
            for task in stuck:
                log.warning(
                    "background task %s did not stop within %.0f s", task.get_name(), timeout
                )
                task.cancel()
        await self._close_audit(timeout)
        if self._trace_provider is not None:
            self._trace_provider.shutdown()  # exports what is still batched
        for step, name in ((self.producer.stop, "producer"), (self.engine.dispose, "database")):
            try:
                async with asyncio.timeout(timeout):
                    await step()
            except TimeoutError:
                log.warning("stopping the %s took over %.0f s; abandoned", name, timeout)

    def _audit_published(self, rows: Sequence[OutboxMessage]) -> None:
        for row in rows:
            self.audit.record(
                actor=self.settings.service,
                operation=f"publish {event_name(row.ce_type)}",
                resource=f"key={row.key}" if row.key else "",
                content_hash=hashlib.sha256(row.payload.encode()).hexdigest(),
                outcome="published",
            )

    async def _close_audit(self, timeout: float) -> None:
        """What is queued reaches the chain, and its head the topic, before shutdown."""
        try:
            async with asyncio.timeout(timeout):
                await self.audit.flush()
            async with asyncio.timeout(timeout):
                await self.audit.publish_head()
        except Exception as exc:  # the entries stay queued; only a crash loses them
            log.warning("audit trail: final flush or head failed: %r", exc)

    async def _supervise(self, name: str, worker: Worker) -> None:
        """Keep a background loop alive: a crash is logged and the loop restarted."""
        while True:
            try:
                await worker()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task %s crashed; restarting in 1 s", name)
                await asyncio.sleep(1.0)

    async def readiness(self) -> dict[str, bool]:
        checks: dict[str, bool] = {}
        try:
            async with asyncio.timeout(3):
                await db_ping(self.engine)
            checks["database"] = True
        except Exception:
            checks["database"] = False
        checks["kafka"] = await kafka_ping(self.producer)
        for consumer in self.consumers:
            checks[f"consumer:{consumer.name}"] = consumer.running
            # Retrying one record for too long: a fault that is not clearing by itself.
            checks[f"consumer:{consumer.name}:progressing"] = not consumer.stuck
        return checks

    async def _collect(self) -> None:
        try:
            self.metrics.outbox_pending.set(await self.relay.pending())
            self.metrics.outbox_parked.set(await self.relay.parked_count())
        except Exception as exc:
            log.debug("metrics: outbox count failed: %s", exc)
        self.metrics.events_published.set(self.relay.published)
        for table, pruned in self.pruner.pruned.items():
            self.metrics.rows_pruned.labels(table).set(pruned)
        self.metrics.write_transactions.set(self.writes.transactions)
        self.metrics.writes_committed.set(self.writes.committed)
        for c in self.consumers:
            self.metrics.events_applied.labels(c.name).set(c.applied)
            self.metrics.events_dead_lettered.labels(c.name).set(c.dead_lettered)
            self.metrics.consumer_stuck.labels(c.name).set(1 if c.stuck else 0)
            self.metrics.consumer_retry_seconds.labels(c.name).set(c.stuck_seconds)
            self.metrics.consumer_retries.labels(c.name).set(c.retries)
