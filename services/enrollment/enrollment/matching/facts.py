"""The facts the matcher judges: plain rows held in memory, with what a batch changed.

Each fact class has the columns of its table (enrollment.tables), in the same names, so the
store reads and writes them without an ORM object per row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, ClassVar


# Alike in shape to enrollment.tables and hub_shared.messaging.events, on purpose: a fact class
# repeats its table's columns so that the engine judges plain rows with no ORM in it, and
# its fields match the events' (the public contract) that fold into it.
@dataclass(slots=True)
class PermitFact:
    permit_no: str
    event_id: str
    revision: int
    project_code: str | None
    project_name: str
    project_name_key: str
    division_code: str
    contractor_uscc: str
    contractor_name: str
    received_at: datetime
    due_at: datetime
    checked_at: datetime | None
    table: ClassVar[str] = "enrollment_permits"


@dataclass(slots=True)
class EnrollmentFact:
    enrollment_id: str
    kind: str
    permit_no: str | None
    project_code: str | None
    project_name: str | None
    project_name_key: str | None
    employer_uscc: str
    employer_name: str
    division_code: str
    insured_headcount: int
    valid_from: date
    valid_to: date | None
    terminated_on: date | None
    content_hash: str
    created_at: datetime
    table: ClassVar[str] = "enrollment_enrollments"


# Alike in shape to its table and to hub_shared.messaging.events.FindingData, on
# purpose (see above).
@dataclass(slots=True)
class FindingFact:
    finding_id: str
    uscc: str
    name: str
    division_code: str
    found_on: date
    source_department: str
    note: str | None
    content_hash: str
    table: ClassVar[str] = "enrollment_findings"


@dataclass(slots=True)
class IncidentFact:
    incident_id: str
    kind: str  # "accident" | "disease"
    event_id: str
    employer_uscc: str
    employer_name: str
    occurred_on: date
    permit_no: str | None
    division_code: str
    table: ClassVar[str] = "enrollment_incidents"


@dataclass(slots=True)
class EnterpriseFact:
    uscc: str
    name: str
    division_code: str
    industry_code: str
    employees: int
    updated_at: datetime
    table: ClassVar[str] = "enrollment_enterprises"


@dataclass(slots=True)
class AlertFact:
    alert_id: str
    kind: str
    subject_key: str
    status: str
    division_code: str
    subject: str  # JSON
    reason: str
    evidence: str  # JSON list
    raised_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    table: ClassVar[str] = "enrollment_alerts"


Fact = PermitFact | EnrollmentFact | FindingFact | IncidentFact | EnterpriseFact | AlertFact


def columns(kind: type[Any]) -> tuple[str, ...]:
    """The column names of a fact class, in its table's terms."""
    return _COLUMNS[kind]


_COLUMNS: dict[type[Any], tuple[str, ...]] = {
    kind: tuple(f.name for f in fields(kind))
    for kind in (PermitFact, EnrollmentFact, FindingFact, IncidentFact, EnterpriseFact, AlertFact)
}


def as_row(fact: Fact) -> dict[str, Any]:
    return {name: getattr(fact, name) for name in columns(type(fact))}


@dataclass
class Facts:
    """What one batch knows: rows loaded from the store, changed by the batch's events."""

    permits: dict[str, PermitFact] = field(default_factory=dict)
    enrollments: dict[str, EnrollmentFact] = field(default_factory=dict)
    findings: dict[str, FindingFact] = field(default_factory=dict)
    incidents: dict[str, IncidentFact] = field(default_factory=dict)
    enterprises: dict[str, EnterpriseFact] = field(default_factory=dict)
    # Open alerts by (kind, subject key): at most one each.
    open_alerts: dict[tuple[str, str], AlertFact] = field(default_factory=dict)
    # What the batch changed, to be written: the facts by class and key.
    changed: dict[type[Any], dict[str, Fact]] = field(default_factory=lambda: defaultdict(dict))
    # The permits as the store had them before the batch changed them (their old keys).
    stored_permits: dict[str, PermitFact] = field(default_factory=dict)

    def touch(self, fact: Fact, key: str) -> None:
        self.changed[type(fact)][key] = fact
