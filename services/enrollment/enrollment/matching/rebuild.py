"""Rebuilding the matcher's state into a fresh database: the live consumer from offset 0.

First the alerts already published on alerts.v1 are stored as their latest event states
them, so that judging the inputs again finds them and raises or sends nothing twice. Then
the matcher's own consumer, in a new consumer group, applies every input record up to the
topics' current ends, its judgements deferred until the log is in: each subject is then
judged once, on the final facts, by the same engine (read in any order, a log would
otherwise raise and resolve alerts that the live matcher never sent). Whatever the rebuilt
state still stages in the outbox is new information (published once the service runs on
this database); for the same inputs it is nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import func, insert, select

from enrollment.matching import driver
from enrollment.matching.facts import AlertFact, as_row
from enrollment.matching.fold import Subject
from enrollment.matching.rules import Policy
from enrollment.tables import SCHEMA, Alert
from hub_shared.config import ServiceSettings
from hub_shared.messaging.consumer import EventConsumer
from hub_shared.messaging.events import AlertData
from hub_shared.messaging.kafka import Producer, connection_options
from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.messaging.processed_events import ProcessedEvent
from hub_shared.messaging.topics import ALERTS
from hub_shared.storage.db import make_engine, make_sessions, table_of
from hub_shared.storage.migrations import migrate

_JUDGED_AT_ONCE = 2000  # subjects judged in one transaction once the log is in


# A plain counter record, alike in shape to other reports' counters
# (incidents.reports.key_industries).
@dataclass
class RebuildReport:
    alerts_loaded: int = 0
    superseded: int = 0
    unreadable_alerts: int = 0
    events_applied: int = 0
    dead_lettered: int = 0
    staged: int = 0  # alert events the rebuilt state raises or resolves anew
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events_applied / self.seconds if self.seconds else 0.0


async def rebuild(settings: ServiceSettings, *, batch: int | None = None) -> RebuildReport:
    """Rebuild into `settings.database_url`, which must not hold matcher state yet."""
    began = time.perf_counter()
    report = RebuildReport()
    engine = make_engine(settings.database_url)
    sessions = make_sessions(engine)
    options = connection_options(settings.kafka_tls)
    producer = Producer(settings.kafka_bootstrap, client_id="enrollment-rebuild", options=options)
    try:
        await migrate(engine, SCHEMA)
        async with sessions() as session:
            if (await session.execute(select(func.count()).select_from(ProcessedEvent))).scalar():
                raise ValueError("the database already holds matcher state: use a fresh one")
        alerts = await _published_alerts(settings, report)
        async with sessions() as session, session.begin():
            if alerts:
                await session.execute(insert(table_of(Alert)), [as_row(a) for a in alerts])
        await producer.start()
        policy = Policy(
            source=f"/hub/{settings.service}",
            grace_seconds=settings.hub.matching.grace_seconds,
            name_threshold=settings.hub.matching.name_threshold,
        )
        touched: set[Subject] = set()
        consumer = EventConsumer(
            name="matcher",
            bootstrap=settings.kafka_bootstrap,
            group_id=f"{settings.consumer_group_prefix}-enrollment-rebuild-{uuid.uuid4().hex[:8]}",
            topics=driver.TOPICS,
            handler=driver.batch_handler(policy, deferred=touched),
            sessions=sessions,
            producer=producer,
            max_records=batch or settings.hub.matching.batch_size,
            options=options,
            whole_poll=True,
        )
        await consumer.catch_up(await _ends(settings, driver.TOPICS))
        report.events_applied, report.dead_lettered = consumer.applied, consumer.dead_lettered
        subjects = sorted(touched)
        for start in range(0, len(subjects), _JUDGED_AT_ONCE):
            async with sessions() as session, session.begin():
                chunk = set(subjects[start : start + _JUDGED_AT_ONCE])
                await driver.judge_subjects(session, policy, chunk)
        while True:
            async with sessions() as session, session.begin():
                if not await driver.judge_due(session, policy):
                    break
        async with sessions() as session:
            unsent = select(func.count()).where(table_of(OutboxMessage).c.sent_at.is_(None))
            report.staged = int((await session.execute(unsent)).scalar() or 0)
    finally:
        await producer.stop()
        await engine.dispose()
    report.seconds = time.perf_counter() - began
    return report


def _reader(settings: ServiceSettings, *topics: str) -> AIOKafkaConsumer:
    """A consumer without a group: given topics, it is assigned all their partitions."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **connection_options(settings.kafka_tls),
    )


async def _ends(settings: ServiceSettings, topics: list[str]) -> dict[TopicPartition, int]:
    """Each partition's end offset now: what the rebuild reads up to."""
    reader = _reader(settings, *topics)
    await reader.start()
    try:
        while not reader.assignment():  # noqa: ASYNC110 - a group-less assignment has no event
            await asyncio.sleep(0.05)
        return dict(await reader.end_offsets(sorted(reader.assignment())))
    finally:
        await reader.stop()


async def _published_alerts(settings: ServiceSettings, report: RebuildReport) -> list[AlertFact]:
    """Every alert on alerts.v1 as its latest event states it; one open per subject."""
    ends = await _ends(settings, [ALERTS.name])
    latest: dict[str, AlertFact] = {}
    left = {tp for tp, end in ends.items() if end > 0}
    if not left:
        return []
    reader = _reader(settings, ALERTS.name)
    await reader.start()
    try:
        while left:
            got = await reader.getmany(*left, timeout_ms=1000, max_records=5000)
            for tp, records in got.items():
                for r in records:
                    if r.offset < ends[tp]:
                        _keep(latest, r.value, report)
                if await reader.position(tp) >= ends[tp]:
                    left.discard(tp)
    finally:
        await reader.stop()
    report.alerts_loaded = len(latest)
    report.superseded = _one_open_per_subject(latest)
    return list(latest.values())


def _keep(latest: dict[str, AlertFact], value: Any, report: RebuildReport) -> None:
    try:
        data = AlertData.model_validate_json(value or b"")
    except ValueError:  # pydantic's ValidationError included: dead-lettered when live
        report.unreadable_alerts += 1
        return
    if data.kind not in MATCHER_KINDS:  # raised by another service (incidents' goals)
        return
    latest[data.alert_id] = AlertFact(
        data.alert_id, data.kind, subject_key(data), data.status, data.division_code,
        data.subject.model_dump_json(exclude_none=True), data.reason,
        json.dumps([e.to_json() for e in data.evidence], ensure_ascii=False),
        data.raised_at, data.resolved_at, data.resolution, data.acknowledged_at,
        data.acknowledged_by,
    )  # fmt: skip


# The alert kinds the matcher raises; alerts.v1 also carries those of incidents.
MATCHER_KINDS = frozenset(
    {
        "project_not_enrolled",
        "enterprise_uninsured",
        "accident_uninsured_employer",
        "disease_uninsured_employer",
    }
)


def subject_key(alert: AlertData) -> str:
    s = alert.subject
    key = {
        "project_not_enrolled": s.permit_no,
        "enterprise_uninsured": s.uscc,
        "accident_uninsured_employer": s.report_id,
        "disease_uninsured_employer": s.diagnosis_id,
    }[alert.kind]
    return key or s.uscc


def _one_open_per_subject(latest: dict[str, AlertFact]) -> int:
    """alerts.v1 should never hold two open alerts for one subject; if it does (a topic fed
    by two unrelated hubs, as in a shared test cluster), the newest stays open and the older
    ones are closed as `superseded`, so the rebuilt state keeps the one-open rule."""
    newest: dict[tuple[str, str], AlertFact] = {}
    superseded = 0
    for alert in sorted(latest.values(), key=lambda a: a.raised_at):
        if alert.status != "open":
            continue
        key = (alert.kind, alert.subject_key)
        if (older := newest.get(key)) is not None:
            older.status, older.resolution = "resolved", "superseded"
            superseded += 1
        newest[key] = alert
    return superseded
