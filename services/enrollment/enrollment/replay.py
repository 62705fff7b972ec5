"""Rebuild the matcher's state from the topics, from offset 0, into a fresh database.

First the alerts already published (alerts.v1) are loaded as they were last seen, so that
re-judging the inputs finds them open and raises nothing twice; then every input event is
folded into its final state and every subject judged once, with the live matcher's rules
and alert drafts (enrollment.rebuild), and all of it written in bulk in one transaction,
with the inbox rows that let the live consumer skip what replay applied. What the rebuilt
state still stages in the outbox is new information (printed, and published when the
service runs on this database); for the same inputs it is nothing.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import func, select
from sqlalchemy.schema import CreateTable

from enrollment.rebuild import (
    REGISTRY_ROWS,
    Alerts,
    Complete,
    FinalState,
    Judge,
    Permits,
    Staged,
)
from enrollment.replay_rows import AlertRow, InboxRow
from enrollment.replay_write import BulkWriter
from enrollment.rules import Policy
from enrollment.schema import SCHEMA
from hub_shared.config import ServiceSettings
from hub_shared.db import make_engine
from hub_shared.envelope import peek
from hub_shared.events import AlertData
from hub_shared.inbox import ProcessedEvent
from hub_shared.kafka import connection_options
from hub_shared.migrations import stamp_head
from hub_shared.topics import (
    ACCIDENTS,
    ALERTS,
    DISEASES,
    ENROLLMENTS,
    ENTERPRISES,
    FINDINGS,
    PERMITS,
)

# enterprises.v1 too: the registry's read side is rebuilt along with the matcher's state.
INPUTS = [t.name for t in (ENTERPRISES, PERMITS, ENROLLMENTS, FINDINGS, ACCIDENTS, DISEASES)]
Progress = Callable[[str, int], None]


@dataclass
class ReplayReport:
    alerts_loaded: int = 0
    events_read: int = 0
    events_applied: int = 0
    seconds: float = 0.0
    # Out of the repr: asyncio.run's exit puts the finished task's repr in a message nobody
    # reads, and a million-event replay stages some 200,000 alerts (0.3 s of it).
    staged: list[Staged] = field(default_factory=list, repr=False)
    superseded: int = 0
    unreadable: int = 0
    writer_peak_rss_mib: float = 0.0
    # Wall seconds of each phase: reading and folding the log (the inbox rows written
    # meanwhile), judging and writing the rows, building indexes and committing.
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events_read / self.seconds if self.seconds else 0.0


def subject_key(alert: AlertData) -> str:
    s = alert.subject
    return {
        "project_not_enrolled": s.permit_no,
        "enterprise_uninsured": s.uscc,
        "accident_uninsured_employer": s.report_id,
        "disease_uninsured_employer": s.diagnosis_id,
    }[alert.kind] or s.uscc


async def _read_to_end(settings: ServiceSettings, topics: list[str], batch: int) -> Any:
    """Yield batches of every record now in `topics`, from offset 0 to the current end."""
    # A fetch of an empty partition waits on the broker up to fetch_max_wait_ms for data,
    # and the offset lookups below queue behind it: 50 ms rather than 500 ms each.
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
        auto_offset_reset="earliest", max_poll_records=batch, fetch_max_wait_ms=50,
        **connection_options(settings.kafka_tls),
    )  # fmt: skip
    await consumer.start()
    try:
        while not consumer.assignment():  # noqa: ASYNC110 - group-less assignment has no event
            await asyncio.sleep(0.05)
        partitions = sorted(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        begins = await consumer.beginning_offsets(partitions)
        left: set[TopicPartition] = {tp for tp in partitions if ends[tp] > begins[tp]}
        while left:
            got = await consumer.getmany(*left, timeout_ms=1000, max_records=batch)
            out: list[ConsumerRecord[Any, Any]] = []
            for tp, records in got.items():
                out.extend(r for r in records if r.offset < ends[tp])
                if records and records[-1].offset >= ends[tp] - 1:
                    left.discard(tp)
            if out:
                yield out
    finally:
        await consumer.stop()


def alert_row(data: AlertData) -> AlertRow:
    """The alert as its latest published event states it."""
    return AlertRow(
        data.alert_id, data.kind, subject_key(data), data.status, data.division_code,
        data.subject.model_dump_json(exclude_none=True), data.reason,
        json.dumps([e.to_json() for e in data.evidence], ensure_ascii=False),
        data.raised_at, data.resolved_at, data.resolution, data.acknowledged_at,
        data.acknowledged_by,
    )  # fmt: skip


def _one_open_per_subject(loaded: dict[str, AlertRow]) -> int:
    """alerts.v1 should never hold two open alerts for one subject; if it does (a topic fed
    by two unrelated hubs, as in a shared test cluster), the newest stays open and the older
    ones are closed as `superseded`, so the rebuilt state keeps the one-open rule."""
    newest: dict[tuple[str, str], AlertRow] = {}
    superseded = 0
    for alert in sorted(loaded.values(), key=lambda a: a.raised_at):
        if alert.status != "open":
            continue
        key = (alert.kind, alert.subject_key)
        if key in newest:
            older = newest[key]
            loaded[older.alert_id] = older._replace(status="resolved", resolution="superseded")
            superseded += 1
        newest[key] = alert
    return superseded


async def replay(
    settings: ServiceSettings, *, batch: int = 2000, progress: Progress | None = None
) -> ReplayReport:
    """Rebuild into `settings.database_url`, which must not hold matcher state yet."""
    note = progress or (lambda _phase, _n: None)
    engine = make_engine(settings.database_url)
    async with engine.begin() as conn:  # their indexes are built when the rows are in
        for table in SCHEMA.tables:
            await conn.execute(CreateTable(table, if_not_exists=True))
        await conn.run_sync(stamp_head, SCHEMA)  # the service's migrations start from here
    report = ReplayReport()
    began = time.perf_counter()
    try:
        async with engine.connect() as conn:
            if (await conn.execute(select(func.count()).select_from(ProcessedEvent))).scalar():
                raise ValueError(
                    "the database already holds matcher state: replay needs a fresh one"
                )
        await engine.dispose()  # the writer process is to be the file's only connection
        loaded = await _load_alerts(settings, batch, report, note)
        report.superseded = _one_open_per_subject(loaded)
        indexes = [index for table in SCHEMA.tables for index in table.indexes]
        mark = time.perf_counter()
        async with BulkWriter(settings.database_url, indexes=indexes) as writer, _no_cycles():
            state = FinalState()
            async for records in _read_to_end(settings, INPUTS, batch):
                for r in records:
                    try:
                        event_id, name = peek(r.headers or ())
                        state.apply(r.topic, event_id, name, r.value or b"")
                    except ValueError:  # malformed or impossible: dead-lettered when live
                        report.unreadable += 1
                await writer.put_columns(InboxRow, state.take_inbox())
                for rows, again in state.take_changes():  # written while the log is read
                    await (writer.replace(rows) if again else writer.put(rows))
                report.events_read += len(records)
                note("events", report.events_read)
            report.events_applied = len(state.applied)
            for row_type in (*REGISTRY_ROWS, InboxRow):  # all in: index them now
                await writer.complete(row_type)
            mark = _phase(report, "read and fold", mark)
            policy = Policy(
                source=f"/hub/{settings.service}",
                grace_seconds=settings.hub.matching.grace_seconds,
                name_threshold=settings.hub.matching.name_threshold,
            )
            judge = Judge(state, loaded, policy, datetime.now(UTC))
            for chunk in judge.rows():
                match chunk:
                    case Complete(row_type):
                        await writer.complete(row_type)
                    case Permits(rows):
                        await writer.put(rows)
                    case Alerts(rows, events):
                        await writer.put_alerts(rows, events, policy.source, judge.now)
            report.staged = judge.staged
            mark = _phase(report, "judge and write", mark)
        _phase(report, "index and commit", mark)
        report.writer_peak_rss_mib = writer.peak_rss_mib
        report.seconds = time.perf_counter() - began
    finally:
        await engine.dispose()
    return report


@asynccontextmanager
async def _no_cycles() -> AsyncIterator[None]:
    """The cyclic garbage collector paused: the state holds millions of tuples, none in a
    cycle and none garbage until the end, which it would only rescan again and again (a
    fifth of judging and handing rows over, a tenth of folding, when it ran)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _phase(report: ReplayReport, name: str, since: float) -> float:
    now = time.perf_counter()
    report.phases[name] = now - since
    return now


async def _load_alerts(
    settings: ServiceSettings, batch: int, report: ReplayReport, note: Progress
) -> dict[str, AlertRow]:
    """Every alert on alerts.v1 as its latest event states it, by id."""
    loaded: dict[str, AlertRow] = {}
    async for records in _read_to_end(settings, [ALERTS.name], batch):
        for r in records:
            try:
                data = AlertData.model_validate_json(r.value or b"")
            except ValueError:  # pydantic's ValidationError included
                report.unreadable += 1  # dead-lettered when it was consumed live
                continue
            loaded[data.alert_id] = alert_row(data)
        report.alerts_loaded = len(loaded)
        note("alerts", report.alerts_loaded)
    return loaded
