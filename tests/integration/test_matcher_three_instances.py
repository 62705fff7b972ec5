"""Three matcher instances on one PostgreSQL database, without a global lock: fed a shuffled
log with redeliveries through the real broker, they end with exactly the alerts one
instance gives for the same log.

The log crosses the topics' keys on purpose: a permit (keyed by its number) and the
enrollment that covers it (keyed by the employer) land on different partitions, so on
different instances, and are judged at the same moment; so are an accident naming a permit
and the project enrollment found by the permit's project code, under another employer.
"""

from __future__ import annotations

import random
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from enrollment.app import create_app
from enrollment.matching import driver
from enrollment.matching.rules import Policy
from enrollment.tables import TABLES, Alert
from hub_shared.domain.identifiers import USCC_ALPHABET, uscc_check_char
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.messaging.processed_events import ProcessedEvent, apply_batch
from hub_shared.messaging.topics import topic_of
from hub_shared.storage.db import create_tables, make_engine, make_sessions, table_of
from hubtools.kafka import LocalKafka
from tests.support.hub import (
    consuming,
    new_permit_no,
    payload,
    running,
    settings_for,
    topic_records,
    wait_for,
    write_config,
)

Subject = tuple[str, str]


def _uscc(rng: random.Random) -> str:
    body = "91370811" + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_char(body)


def _event(name: str, key: str, data: dict[str, Any]) -> Envelope:
    return Envelope.new(name, source="/test", key=key, data=data)


def crossing_log(rng: random.Random) -> tuple[list[Envelope], set[str]]:
    """Permits, project and employer enrollments, accidents and findings whose keys cross;
    returns the events and the subject keys of this log (to pick its alerts out)."""
    contractors = [_uscc(rng) for _ in range(4)]
    subcontractor = _uscc(rng)
    events: list[Envelope] = []
    permits: list[tuple[str, str, str]] = []  # number, project code, contractor
    for n in range(30):
        permit_no, contractor = new_permit_no(), contractors[n % 4]
        code = f"2103-370811-04-01-{uuid.uuid4().int % 1_000_000:06d}"
        permits.append((permit_no, code, contractor))
        events.append(_event("permit.issued", permit_no, {
            "permit_no": permit_no, "project_code": code, "project_name": f"运河花园{n + 1}号楼",
            "address": "济宁", "division_code": "370811", "contract_price_wan": 10.0,
            "planned_start": "2021-04-01", "planned_end": "2022-04-01",
            "issued_at": "2021-03-15T09:30:00+08:00",
            "builder": {"name": "建设单位", "uscc": subcontractor},
            "contractor": {"name": f"施工单位{contractor[-4:]}", "uscc": contractor},
            "received_at": "2021-03-15T01:30:00+00:00", "source_id": "t"}))  # fmt: skip
    for n, (permit_no, code, contractor) in enumerate(permits[:18]):
        by = ("permit_no", "project_code", "name")[n % 3]
        employer = subcontractor if by == "project_code" else contractor
        events.append(_event("enrollment.registered", employer, {
            "enrollment_id": f"SI-{uuid.uuid4().hex[:12]}", "kind": "project",
            "permit_no": permit_no if by == "permit_no" else None,
            "project_code": code if by == "project_code" else None,
            "project_name": f"运河花园{n + 1}号楼" if by == "name" else None,
            "employer_uscc": employer, "employer_name": "单位", "division_code": "370811",
            "insured_headcount": 0, "valid_from": "2021-03-10"}))  # fmt: skip
    for contractor in contractors[:2]:
        events.append(_event("enrollment.registered", contractor, {
            "enrollment_id": f"SI-{uuid.uuid4().hex[:12]}", "kind": "employer",
            "employer_uscc": contractor, "employer_name": "单位", "division_code": "370811",
            "insured_headcount": 50, "valid_from": "2021-01-01"}))  # fmt: skip
    subjects = {p[0] for p in permits} | set(contractors)
    for n in range(16):
        permit_no, _code, contractor = permits[(n * 7) % 30]
        report_id = f"A-{uuid.uuid4().hex[:12]}"
        subjects.add(report_id)
        events.append(_event("accident.reported", contractor, {
            "report_id": report_id, "occurred_at": "2021-06-01T10:00:00+08:00",
            "division_code": "370811", "employer": {"name": "单位", "uscc": contractor},
            "permit_no": permit_no if n % 2 else None, "industry_code": "47",
            "grade": "general", "deaths": 0, "serious_injuries": 1,
            "minor_injuries": 0}))  # fmt: skip
    for contractor in contractors:
        events.append(_event("enterprise.uninsured", contractor, {
            "finding_id": f"F-{uuid.uuid4().hex[:12]}", "uscc": contractor, "name": "单位",
            "division_code": "370811", "found_on": "2021-05-01",
            "source_department": "应急管理局"}))  # fmt: skip
    return events, subjects


async def one_instance(log: list[Envelope], policy: Policy) -> set[Subject]:
    """The open alerts one matcher gives for the log: the same batch handler, one record
    at a time, on a database of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'one.db'}")
        tables = [table_of(m) for m in (*TABLES, OutboxMessage, ProcessedEvent)]
        await create_tables(engine, tables)
        sessions = make_sessions(engine)
        handler = driver.batch_handler(policy)
        for event in log:
            await apply_batch(sessions, handler, "matcher", [(topic_of(event.name).name, event)])
        async with sessions() as session:
            rows = (await session.exec(select(Alert).where(Alert.status == "open"))).all()
        await engine.dispose()
    return {(a.kind, a.subject_key) for a in rows}


async def test_three_instances_on_postgres_end_with_one_instances_alerts(
    kafka: LocalKafka, pg_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20211130)
    events, subjects = crossing_log(rng)
    log = events + rng.sample(events, 30)  # redeliveries: the same event ids again
    rng.shuffle(log)
    ids = {e.id for e in log}
    expected = await one_instance(log, Policy(source="/hub/enrollment", grace_seconds=0))
    assert expected, "the log must raise alerts for the comparison to mean anything"

    config = write_config(tmp_path / "hub.toml", grace_seconds=0)
    settings = settings_for(
        "enrollment", config=config, bootstrap=kafka.bootstrap, database_url=pg_url,
        data_dir=tmp_path,
    ).model_copy(update={"consumer_offset_reset": "latest"})  # fmt: skip
    apps = [create_app(settings) for _ in range(3)]
    async with running(apps[0]), running(apps[1]), running(apps[2]):
        runtimes = [app.state.runtime for app in apps]
        consumers = [c for r in runtimes for c in r.consumers]
        await consuming(*apps, timeout=60)  # the group balanced over all three
        producer = Producer(kafka.bootstrap, client_id="test-three")
        await producer.start()
        try:
            await producer.publish_many([(topic_of(e.name).name, e) for e in log])
        finally:
            await producer.stop()

        async def applied() -> bool:
            async with runtimes[0].sessions() as session:
                query = select(func.count()).select_from(ProcessedEvent)
                query = query.where(col(ProcessedEvent.event_id).in_(ids))
                return (await session.exec(query)).one() == len(ids)

        await wait_for(applied, timeout=120, what="the three instances to apply the log")
        assert sum(c.applied > 0 for c in consumers) >= 2, "several instances took part"
        async with runtimes[0].sessions() as session:
            query = select(Alert).where(col(Alert.subject_key).in_(subjects))
            rows = (await session.exec(query)).all()

        async def drained() -> bool:
            return all([await r.relay.pending() == 0 for r in runtimes])

        await wait_for(drained, timeout=90, what="the outboxes to drain")
    open_now = Counter((a.kind, a.subject_key) for a in rows if a.status == "open")
    assert max(open_now.values(), default=1) == 1, "two open alerts for one subject"
    assert set(open_now) == expected

    ours = {a.alert_id for a in rows}
    records = [payload(r) for r in await topic_records(kafka.bootstrap, "alerts.v1")]
    raised = Counter(p["alert_id"] for p in records if p.get("alert_id") in ours)
    assert set(raised) == ours, "every alert was published"
    states = Counter((p["alert_id"], p["status"]) for p in records if p.get("alert_id") in ours)
    assert max(states.values()) == 1, "an alert change was published twice"
