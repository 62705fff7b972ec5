"""Order independence and idempotence of the matcher, proved over generated event sets.

The same events, in any order, with duplicates, cut into batches of any size, and with the
due-permit scan run at any moment, end in the same open alerts: exactly those the rules give
for the final state. The events go through the matcher's real batch handler and inbox on a
real SQLite database.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from enrollment.matching import driver
from enrollment.matching.names import name_key
from enrollment.matching.rules import (
    EnrollmentFacts,
    PermitFacts,
    Policy,
    active_on,
    permit_coverage,
)
from enrollment.tables import TABLES, Alert
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.messaging.processed_events import ProcessedEvent, apply_batch
from hub_shared.storage.db import (
    SessionFactory,
    create_tables,
    make_engine,
    make_sessions,
    table_of,
)

# One clock for the generated dates, the matcher and the rules: a run across midnight UTC
# must not judge "today" on two different days.
NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
TODAY = NOW.date()
EMPLOYERS = ["91370812MA3L12T073", "91370811MA3AY4C041"]
PERMITS = [
    # permit_no, project_code, project_name, contractor
    ("370811202103150101", "2103-370811-04-01-123456", "任城区运河花园3#楼", EMPLOYERS[0]),
    ("370811202103150202", None, "任城区运河花园5#楼", EMPLOYERS[0]),
    ("370883202104010301", "2104-370883-04-01-000301", "邹城市第三中学教学楼", EMPLOYERS[1]),
]


@pytest.fixture(autouse=True, scope="module")
def _matcher_clock() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(driver, "now", lambda: NOW)
        yield


@dataclass(frozen=True)
class World:
    events: list[Envelope]
    enrollments: dict[str, dict[str, Any]]  # final state
    permits: list[str]
    findings: list[tuple[str, str]]  # (finding_id, uscc)
    incidents: list[dict[str, Any]]


def _day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    events: list[Envelope] = []
    permits = draw(st.lists(st.sampled_from(PERMITS), unique=True, max_size=3))
    for permit_no, code, name, contractor in permits:
        data = {
            "permit_no": permit_no,
            "project_code": code,
            "project_name": name,
            "address": "济宁",
            "division_code": permit_no[:6],
            "contract_price_wan": 10.0,
            "planned_start": "2021-04-01",
            "planned_end": "2022-04-01",
            "issued_at": "2021-03-15T09:30:00+08:00",
            "builder": {"name": "建设单位", "uscc": EMPLOYERS[1]},
            "contractor": {"name": "施工单位", "uscc": contractor},
            "received_at": "2021-03-15T01:30:00+00:00",
            "source_id": "t",
            "revision": 1,
        }
        events.append(Envelope.new("permit.issued", source="/t", data=data, key=permit_no))
    enrollments: dict[str, dict[str, Any]] = {}
    for n in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["project", "employer"]))
        target = draw(st.sampled_from(PERMITS))
        by = draw(st.sampled_from(["permit_no", "project_code", "name"]))
        start = draw(st.integers(-400, 30))
        end = draw(st.one_of(st.none(), st.integers(start, 400)))
        data = {
            "enrollment_id": f"SI-{n}",
            "kind": kind,
            "permit_no": target[0] if kind == "project" and by == "permit_no" else None,
            "project_code": target[1] if kind == "project" and by == "project_code" else None,
            "project_name": target[2] if kind == "project" else None,
            "employer_uscc": target[3] if kind == "project" else draw(st.sampled_from(EMPLOYERS)),
            "employer_name": "单位",
            "division_code": "370811",
            "insured_headcount": 0 if kind == "project" else 10,
            "valid_from": _day(start).isoformat(),
            "valid_to": _day(end).isoformat() if end is not None else None,
            "terminated_on": None,
        }
        key = data["employer_uscc"]
        events.append(Envelope.new("enrollment.registered", source="/t", data=data, key=key))
        stop = draw(st.one_of(st.none(), st.integers(start, 400)))
        if stop is not None:
            data = {**data, "terminated_on": _day(stop).isoformat()}
            events.append(Envelope.new("enrollment.terminated", source="/t", data=data, key=key))
        enrollments[data["enrollment_id"]] = data
    findings = []
    for n, uscc in enumerate(draw(st.lists(st.sampled_from(EMPLOYERS), unique=True, max_size=2))):
        data = {
            "finding_id": f"F-{n}",
            "uscc": uscc,
            "name": "单位",
            "division_code": "370811",
            "found_on": TODAY.isoformat(),
            "source_department": "住建局",
            "note": None,
        }
        events.append(Envelope.new("enterprise.uninsured", source="/t", data=data, key=uscc))
        findings.append((f"F-{n}", uscc))
    incidents = []
    for n in range(draw(st.integers(0, 2))):
        uscc = draw(st.sampled_from(EMPLOYERS))
        names = draw(st.one_of(st.none(), st.sampled_from([p[0] for p in PERMITS])))
        if names is not None and draw(st.booleans()):
            uscc = next(p[3] for p in PERMITS if p[0] == names)  # the site's contractor
        day = _day(draw(st.integers(-300, 0)))
        data = {
            "report_id": f"A-{n}",
            "occurred_at": f"{day.isoformat()}T10:00:00+08:00",
            "division_code": "370811",
            "employer": {"name": "单位", "uscc": uscc},
            "permit_no": names,
            "industry_code": "47",
            "grade": "general",
            "deaths": 0,
            "serious_injuries": 1,
            "minor_injuries": 0,
            "summary": None,
        }
        events.append(Envelope.new("accident.reported", source="/t", data=data, key=uscc))
        incidents.append(data)
    return World(events, enrollments, [p[0] for p in permits], findings, incidents)


def _facts(e: dict[str, Any]) -> EnrollmentFacts:
    return EnrollmentFacts(
        e["enrollment_id"],
        e["kind"],
        e["permit_no"],
        e["project_code"],
        name_key(e["project_name"]) if e["project_name"] else None,
        e["employer_uscc"],
        date.fromisoformat(e["valid_from"]),
        date.fromisoformat(e["valid_to"]) if e["valid_to"] else None,
        date.fromisoformat(e["terminated_on"]) if e["terminated_on"] else None,
    )


def expected_open(world: World) -> set[tuple[str, str]]:
    """What the rules say about the final state, computed in one pass."""
    facts = [_facts(e) for e in world.enrollments.values()]
    permit_facts = {
        p[0]: PermitFacts(p[0], p[1], name_key(p[2]), p[3])
        for p in PERMITS
        if p[0] in world.permits
    }

    def employer_covered(uscc: str, day: date) -> bool:
        return any(
            f.kind == "employer" and f.employer_uscc == uscc and active_on(f, day) for f in facts
        )

    out = set()
    for permit_no, pf in permit_facts.items():
        if not permit_coverage(facts, pf, TODAY):
            out.add(("project_not_enrolled", permit_no))
    for finding_id, uscc in world.findings:
        if not employer_covered(uscc, TODAY):
            out.add(("enterprise_uninsured", uscc))
        del finding_id
    for i in world.incidents:
        day = datetime.fromisoformat(i["occurred_at"]).date()
        covered = employer_covered(i["employer"]["uscc"], day)
        pf = permit_facts.get(i["permit_no"] or "")
        if not covered and pf is not None:
            covered = bool(permit_coverage(facts, pf, day))
        if not covered:
            out.add(("accident_uninsured_employer", i["report_id"]))
    return out


@asynccontextmanager
async def _matcher_database() -> AsyncIterator[SessionFactory]:
    """A fresh SQLite database with the matcher's tables, the outbox and the inbox."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'm.db'}")
        tables = [table_of(m) for m in (*TABLES, OutboxMessage, ProcessedEvent)]
        await create_tables(engine, tables)
        try:
            yield make_sessions(engine)
        finally:
            await engine.dispose()


async def _run(
    events: list[Envelope], scans: list[bool], cuts: Sequence[int] | None = None
) -> list[Alert]:
    """Apply the events in batches ending where `cuts` says (one each by default), the
    due-permit scan after a batch whose last event's `scans` flag is set, and at the end."""
    async with _matcher_database() as sessions:
        policy = Policy(source="/hub/enrollment", grace_seconds=0)
        handler = driver.batch_handler(policy)

        async def scan() -> None:
            async with sessions() as session, session.begin():
                await driver.judge_due(session, policy)

        n = len(events)
        ends = sorted({min(c, n) for c in cuts or range(1, n + 1)} | {n})
        start = 0
        for end in ends:
            if end <= start:
                continue
            await apply_batch(sessions, handler, "matcher", [("t", e) for e in events[start:end]])
            if scans[end - 1]:
                await scan()
            start = end
        await scan()
        async with sessions() as session:
            result = list((await session.exec(select(Alert))).all())
        return result


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), world=worlds())
def test_any_order_with_duplicates_ends_in_the_alerts_the_rules_give(
    data: st.DataObject, world: World
) -> None:
    duplicated = (
        world.events + data.draw(st.lists(st.sampled_from(world.events), max_size=4))
        if world.events
        else []
    )
    order = data.draw(st.permutations(duplicated))
    scans = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    cuts = data.draw(st.lists(st.integers(1, max(len(order), 1)), max_size=4))
    rows = asyncio.run(_run(list(order), scans, cuts))
    open_alerts = [(a.kind, a.subject_key) for a in rows if a.status == "open"]
    assert len(open_alerts) == len(set(open_alerts)), "two open alerts for one subject"
    assert set(open_alerts) == expected_open(world)
    for alert in rows:
        if alert.status == "resolved":
            assert alert.resolution in world.enrollments


def test_a_late_enrollment_resolves_the_alert_its_permit_raised() -> None:
    """The harness is not vacuous: judged before its enrollment arrives, a permit raises an
    alert, and the enrollment resolves it with its id."""
    permit_no, _code, name, contractor = PERMITS[0]
    permit = Envelope.new(
        "permit.issued",
        source="/t",
        key=permit_no,
        data={
            "permit_no": permit_no,
            "project_name": name,
            "address": "济宁",
            "division_code": "370811",
            "contract_price_wan": 1.0,
            "planned_start": "2021-04-01",
            "planned_end": "2021-05-01",
            "issued_at": "2021-03-15T09:30:00+08:00",
            "builder": {"name": "b", "uscc": EMPLOYERS[1]},
            "contractor": {"name": "c", "uscc": contractor},
            "received_at": "2021-03-15T01:30:00+00:00",
            "source_id": "t",
        },
    )
    enrollment = Envelope.new(
        "enrollment.registered",
        source="/t",
        key=contractor,
        data={
            "enrollment_id": "SI-late",
            "kind": "project",
            "permit_no": permit_no,
            "employer_uscc": contractor,
            "employer_name": "c",
            "division_code": "370811",
            "insured_headcount": 0,
            "valid_from": "2021-03-10",
        },
    )
    rows = asyncio.run(_run([permit, enrollment], [True, False]))
    assert [(a.kind, a.status, a.resolution) for a in rows] == [
        ("project_not_enrolled", "resolved", "SI-late")
    ]


def test_accident_before_its_permit_is_covered_by_the_projects_earlier_enrollment() -> None:
    """Order enrollment → accident → permit: the accident is judged before the permit is
    known, and must be judged again when the permit arrives."""
    permit_no, _code, name, contractor = PERMITS[0]
    enrollment = Envelope.new(
        "enrollment.registered", source="/t", key=contractor,
        data={"enrollment_id": "SI-site", "kind": "project", "permit_no": permit_no,
              "employer_uscc": contractor, "employer_name": "c", "division_code": "370811",
              "insured_headcount": 0, "valid_from": "2021-03-10"},
    )  # fmt: skip
    accident = Envelope.new(
        "accident.reported", source="/t", key=contractor,
        data={"report_id": "A-site", "occurred_at": "2021-06-01T10:00:00+08:00",
              "division_code": "370811", "employer": {"name": "c", "uscc": contractor},
              "permit_no": permit_no, "industry_code": "47", "grade": "general", "deaths": 0,
              "serious_injuries": 1, "minor_injuries": 0},
    )  # fmt: skip
    permit = Envelope.new(
        "permit.issued", source="/t", key=permit_no,
        data={"permit_no": permit_no, "project_name": name, "address": "济宁",
              "division_code": "370811", "contract_price_wan": 1.0, "planned_start": "2021-04-01",
              "planned_end": "2021-05-01", "issued_at": "2021-03-15T09:30:00+08:00",
              "builder": {"name": "b", "uscc": EMPLOYERS[1]},
              "contractor": {"name": "c", "uscc": contractor},
              "received_at": "2021-03-15T01:30:00+00:00", "source_id": "t"},
    )  # fmt: skip
    rows = asyncio.run(_run([enrollment, accident, permit], [False, False, False]))
    open_alerts = [(a.kind, a.subject_key) for a in rows if a.status == "open"]
    assert open_alerts == []


async def _rebuild(events: list[Envelope], cuts: Sequence[int]) -> list[Alert]:
    """As `hub replay`: batches folded with judgement deferred, then every touched subject
    judged once on the final facts."""
    async with _matcher_database() as sessions:
        policy = Policy(source="/hub/enrollment", grace_seconds=0)
        touched: set[tuple[str, str]] = set()
        handler = driver.batch_handler(policy, deferred=touched)
        start = 0
        for end in sorted({min(c, len(events)) for c in cuts} | {len(events)}):
            batch = [("t", e) for e in events[start:end]]
            if batch:
                await apply_batch(sessions, handler, "matcher", batch)
            start = end
        async with sessions() as session, session.begin():
            await driver.judge_subjects(session, policy, touched)
        async with sessions() as session:
            result = list((await session.exec(select(Alert))).all())
        return result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), world=worlds())
def test_a_rebuild_judges_each_subject_once_on_the_final_facts(
    data: st.DataObject, world: World
) -> None:
    """Read in any order and cut anywhere, a rebuild raises exactly the rules' alerts and
    never one it then resolves (which offices would have received for nothing)."""
    extra = data.draw(st.lists(st.sampled_from(world.events), max_size=4)) if world.events else []
    order = data.draw(st.permutations(world.events + extra))
    cuts = data.draw(st.lists(st.integers(1, max(len(order), 1)), max_size=4))
    rows = asyncio.run(_rebuild(list(order), cuts))
    assert [a.status for a in rows if a.status != "open"] == []
    opened = [(a.kind, a.subject_key) for a in rows]
    assert len(opened) == len(set(opened))
    assert set(opened) == expected_open(world)
