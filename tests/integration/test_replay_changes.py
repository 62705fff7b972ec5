"""Replay writes the registry's rows while it is still reading the log: each row as the fold
changes it, replacing the row of its key (FinalState.take_changes, BulkWriter.replace). In
any order, with repeats, updates, terminations and conflicting reports, and however the
changes are cut into chunks, the database ends holding exactly the fold's final rows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.schema import CreateTable, DropTable
from sqlmodel import SQLModel, select

from enrollment.models import Enrollment, Enterprise, Finding, Incident
from enrollment.rebuild import FinalState
from enrollment.replay_write import BulkWriter
from hub_shared.db import make_engine, make_sessions, table_of
from hub_shared.envelope import Envelope

USCCS = ["91370812MA3L12T073", "91370811MA3AY4C041"]
MODELS: list[type[SQLModel]] = [Enterprise, Enrollment, Finding, Incident]


@st.composite
def registry_events(draw: st.DrawFn) -> Envelope:
    uscc = draw(st.sampled_from(USCCS))
    n = draw(st.integers(0, 2))  # few ids: keys repeat, with different content
    which = draw(st.sampled_from(["enterprise", "enrollment", "finding", "accident"]))
    if which == "enterprise":
        data: dict[str, Any] = {"uscc": uscc, "name": f"单位{n}", "division_code": "370811",
                                "industry_code": draw(st.sampled_from(["47", "E47"])),
                                "employees": draw(st.integers(0, 9))}  # fmt: skip
        return Envelope.new("enterprise.registered", source="/t", data=data, key=uscc)
    if which == "enrollment":
        terminated = draw(st.one_of(st.none(), st.sampled_from(["2025-01-01", "2025-06-30"])))
        data = {"enrollment_id": f"SI-{n}", "kind": "employer", "employer_uscc": uscc,
                "employer_name": "单位", "division_code": "370811",
                "insured_headcount": draw(st.integers(1, 9)), "valid_from": "2024-01-01",
                "valid_to": None, "terminated_on": terminated}  # fmt: skip
        name = "enrollment.terminated" if terminated else "enrollment.registered"
        return Envelope.new(name, source="/t", data=data, key=uscc)
    if which == "finding":
        source = draw(st.sampled_from(["住建局", "应急局"]))
        data = {"finding_id": f"F-{n}", "uscc": uscc, "name": "单位", "division_code": "370811",
                "found_on": "2025-03-01", "source_department": source, "note": None}  # fmt: skip
        return Envelope.new("enterprise.uninsured", source="/t", data=data, key=uscc)
    data = {"report_id": f"A-{n}", "occurred_at": "2025-03-01T10:00:00+08:00",
            "division_code": "370811", "employer": {"name": "单位", "uscc": uscc},
            "permit_no": None, "industry_code": "47", "grade": "general", "deaths": 0,
            "serious_injuries": 1, "minor_injuries": 0}  # fmt: skip
    return Envelope.new("accident.reported", source="/t", data=data, key=uscc)


async def _write_as_replay_does(
    database_url: str, state: FinalState, chunks: list[list[Envelope]]
) -> None:
    engine = make_engine(database_url)
    async with engine.begin() as conn:  # a fresh table set for each example
        for model in MODELS:
            await conn.execute(DropTable(table_of(model), if_exists=True))
            await conn.execute(CreateTable(table_of(model)))
    await engine.dispose()
    async with BulkWriter(database_url) as writer:
        for chunk in chunks:
            for event in chunk:
                state.add("t", event)
            for rows, again in state.take_changes():
                await (writer.replace(rows) if again else writer.put(rows))


async def _stored(database_url: str) -> dict[str, list[dict[str, Any]]]:
    engine = make_engine(database_url)
    async with make_sessions(engine)() as session:
        found = {m.__name__: [r.model_dump() for r in (await session.exec(select(m))).all()]
                 for m in MODELS}  # fmt: skip
    await engine.dispose()
    return found


def _by_key(model: type[SQLModel], rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    (key,) = table_of(model).primary_key.columns
    return sorted(rows, key=lambda row: str(row[key.name]))


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=st.lists(registry_events(), max_size=14), data=st.data())
def test_rows_written_as_they_change_end_as_the_folds_final_rows(
    database_url: str, events: list[Envelope], data: st.DataObject
) -> None:
    log = events + data.draw(st.lists(st.sampled_from(events), max_size=3)) if events else []
    log = data.draw(st.permutations(log))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(log)), max_size=3)))
    chunks = [log[a:b] for a, b in zip([0, *cuts], [*cuts, len(log)], strict=True)]
    state = FinalState()
    asyncio.run(_write_as_replay_does(database_url, state, chunks))
    final = {
        Enterprise: state.enterprises, Enrollment: state.enrollments,
        Finding: state.findings, Incident: state.incidents,
    }  # fmt: skip
    stored = asyncio.run(_stored(database_url))
    for model, rows in final.items():
        expected = _by_key(model, (r._asdict() for r in rows.values()))
        assert _by_key(model, stored[model.__name__]) == expected, model.__name__
