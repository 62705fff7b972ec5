"""The matcher's facts in the database: read what a batch needs, write what it changed.

Reads are one SELECT per table for all the keys of a round; writes are one statement per
table for all the batch's rows (inserts and upserts in bulk), so a batch costs a handful of
round trips however many events it holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import BigInteger, Table, bindparam, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

# The fact classes, named again as fold.py names them (a list of imports, no logic).
from enrollment.matching.facts import (
    AlertFact,
    EnrollmentFact,
    EnterpriseFact,
    Facts,
    FindingFact,
    IncidentFact,
    PermitFact,
    as_row,
    columns,
)
from enrollment.matching.judge import AlertChange
from enrollment.matching.needs import Needs
from enrollment.tables import Alert, Enrollment, Enterprise, Finding, Incident, WatchedPermit
from hub_shared import clock
from hub_shared.messaging.events import AlertData
from hub_shared.messaging.outbox import insert_staged, outbox_row
from hub_shared.storage.db import table_of
from hub_shared.tracing import links as tracing_links

_PERMITS = table_of(WatchedPermit)
_ENROLLMENTS = table_of(Enrollment)
_FINDINGS = table_of(Finding)
_INCIDENTS = table_of(Incident)
_ALERTS = table_of(Alert)
_ENTERPRISES = table_of(Enterprise)
# What each need looks up: (table, column).
# Tables of names, alike in shape by nature: data, not logic.
_LOOKUPS: dict[str, tuple[Table, str]] = {
    "permit": (_PERMITS, "permit_no"),
    "permits_of": (_PERMITS, "contractor_uscc"),
    "permits_coded": (_PERMITS, "project_code"),
    "enrollment": (_ENROLLMENTS, "enrollment_id"),
    "enrollments_naming": (_ENROLLMENTS, "permit_no"),
    "enrollments_coded": (_ENROLLMENTS, "project_code"),
    "enrollments_of": (_ENROLLMENTS, "employer_uscc"),
    "finding": (_FINDINGS, "finding_id"),
    "findings_of": (_FINDINGS, "uscc"),
    "incident": (_INCIDENTS, "incident_id"),
    "incidents_of": (_INCIDENTS, "employer_uscc"),
    "incidents_naming": (_INCIDENTS, "permit_no"),
    "alerts": (_ALERTS, "subject_key"),
}
_FACT_OF: dict[str, type[Any]] = {
    _PERMITS.name: PermitFact,
    _ENROLLMENTS.name: EnrollmentFact,
    _FINDINGS.name: FindingFact,
    _INCIDENTS.name: IncidentFact,
    _ALERTS.name: AlertFact,
}
_TABLE_OF: dict[type[Any], Table] = {
    PermitFact: _PERMITS,
    EnrollmentFact: _ENROLLMENTS,
    FindingFact: _FINDINGS,
    IncidentFact: _INCIDENTS,
    EnterpriseFact: _ENTERPRISES,
    AlertFact: _ALERTS,
}


async def load(session: AsyncSession, facts: Facts, needs: Needs) -> None:
    """Read the rows the needs name into the facts; what the batch holds already wins."""
    by_table: dict[Table, list[ColumnElement[bool]]] = {}
    for what, keys in needs.items():
        if keys:
            table, column = _LOOKUPS[what]
            by_table.setdefault(table, []).append(table.c[column].in_(sorted(keys)))
    for table, clauses in by_table.items():
        kind = _FACT_OF[table.name]
        query = select(*(table.c[name] for name in columns(kind))).where(or_(*clauses))
        if table is _ALERTS:
            query = query.where(_ALERTS.c.status == "open")
        for row in (await session.execute(query)).all():
            _remember(facts, kind(*row))


def _remember(facts: Facts, fact: Any) -> None:
    if isinstance(fact, PermitFact):
        if fact.permit_no not in facts.permits:
            facts.permits[fact.permit_no] = fact
            facts.stored_permits[fact.permit_no] = replace(fact)  # a copy the fold leaves alone
    elif isinstance(fact, EnrollmentFact):
        facts.enrollments.setdefault(fact.enrollment_id, fact)
    elif isinstance(fact, FindingFact):
        facts.findings.setdefault(fact.finding_id, fact)
    elif isinstance(fact, IncidentFact):
        facts.incidents.setdefault(fact.incident_id, fact)
    elif isinstance(fact, AlertFact):
        key = (fact.kind, fact.subject_key)
        if key not in facts.open_alerts and fact.alert_id not in facts.changed[AlertFact]:
            facts.open_alerts[key] = fact


async def write(
    session: AsyncSession, facts: Facts, changes: Sequence[AlertChange], source: str
) -> None:
    """Store what the batch changed and stage its alert events, in the caller's
    transaction. Facts of the registry the batch only restated are left as stored."""
    upsert = _dialect_insert(session)
    for kind, table in _TABLE_OF.items():
        rows = [as_row(f) for f in facts.changed.get(kind, {}).values()]
        if not rows:
            continue
        statement = upsert(table)
        keys = [c.name for c in table.primary_key.columns]
        changing = _CHANGING.get(kind)
        if changing is None:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        else:
            excluded = statement.excluded
            updates = {name: excluded[name] for name in changing}
            statement = statement.on_conflict_do_update(index_elements=keys, set_=updates)
        await session.execute(statement, rows)
    now = clock.now()
    alerts = [(name, to_data(a)) for name, a in changes]
    rows = [
        outbox_row(name, source=source, key=a.alert_id, subject=a.alert_id,
                   data=a.to_json(), now=now)
        for name, a in alerts
    ]  # fmt: skip
    # An alert continues the trace of the event it is about (a permit's, an accident's).
    await tracing_links.carry(session, rows, [[e.id for e in a.evidence] for _n, a in alerts])
    await insert_staged(session, rows)


# The columns a later event may change in a stored row (None: never changed once stored).
_CHANGING: dict[type[Any], list[str] | None] = {
    PermitFact: [c for c in columns(PermitFact) if c != "permit_no"],
    EnrollmentFact: ["terminated_on"],
    FindingFact: None,
    IncidentFact: None,
    EnterpriseFact: [c for c in columns(EnterpriseFact) if c != "uscc"],
    AlertFact: ["status", "resolved_at", "resolution", "evidence"],
}


def _dialect_insert(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def to_data(alert: AlertFact) -> AlertData:
    return AlertData.model_validate(
        {
            "alert_id": alert.alert_id,
            "kind": alert.kind,
            "status": alert.status,
            "division_code": alert.division_code,
            "subject": json.loads(alert.subject),
            "reason": alert.reason,
            "evidence": json.loads(alert.evidence),
            "raised_at": alert.raised_at,
            "resolved_at": alert.resolved_at,
            "resolution": alert.resolution,
            "acknowledged_at": alert.acknowledged_at,
            "acknowledged_by": alert.acknowledged_by,
        }
    )


def locks_keys(session: AsyncSession) -> bool:
    """Whether batches lock their keys: on PostgreSQL, where instances write at once."""
    return bool(session.get_bind().dialect.name == "postgresql")


async def lock(session: AsyncSession, keys: set[str]) -> None:
    """Take the keys' transaction locks, in one order (PostgreSQL; SQLite has one writer
    at a time already, by BEGIN IMMEDIATE)."""
    if not keys or not locks_keys(session):
        return
    ids = sorted({_lock_id(k) for k in keys})
    await session.execute(_LOCK, {"ids": ids})


# unnest yields the ids in the array's (sorted) order, and they are locked in that order.
_LOCK = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(:ids) AS k").bindparams(
    bindparam("ids", type_=postgresql.ARRAY(BigInteger))
)


def _lock_id(key: str) -> int:
    digest = hashlib.blake2b(key.encode(), digest_size=8, person=b"hub-match").digest()
    return int.from_bytes(digest, "big", signed=True)


def due_permits_query(now: Any, limit: int) -> Any:
    return (
        select(_PERMITS.c.permit_no)
        .where(_PERMITS.c.checked_at.is_(None), _PERMITS.c.due_at <= now)
        .order_by(_PERMITS.c.due_at)
        .limit(limit)
    )
