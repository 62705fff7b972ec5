"""The matcher's rows as plain named tuples, for replay.

Replay holds a whole event log's final state in memory and writes it in bulk; ORM objects
cost ~1 KiB and ~15 µs each to build (instrumented attribute sets), named tuples a tenth of
that. Field names are the tables' column names, so a row is an insert's parameters as it is,
and the rules read the enrollment and permit rows directly (rules.EnrollmentLike, PermitLike).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Table

from enrollment.models import (
    Alert,
    Enrollment,
    Enterprise,
    Finding,
    Incident,
    WatchedPermit,
)
from enrollment.names import name_key
from hub_shared.db import table_of
from hub_shared.inbox import ProcessedEvent
from hub_shared.outbox import OutboxMessage


class EnterpriseRow(NamedTuple):
    uscc: str
    name: str
    division_code: str
    industry_code: str
    employees: int
    updated_at: datetime


class EnrollmentRow(NamedTuple):
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


class PermitRow(NamedTuple):
    permit_no: str
    event_id: str  # the first revision's event, the alert's evidence
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


def finished(p: PermitRow, grace: timedelta, now: datetime) -> PermitRow:
    """The permit as the live matcher stores it once judged at `now`: its name key, the end
    of its grace period, and `now` as checked_at once that has passed."""
    due = p.received_at + grace
    return PermitRow(
        p.permit_no, p.event_id, p.revision, p.project_code, p.project_name,
        name_key(p.project_name), p.division_code, p.contractor_uscc, p.contractor_name,
        p.received_at, due, now if due <= now else None,
    )  # fmt: skip


class FindingRow(NamedTuple):
    finding_id: str
    uscc: str
    name: str
    division_code: str
    found_on: date
    source_department: str
    note: str | None
    content_hash: str


class IncidentRow(NamedTuple):
    incident_id: str
    kind: str  # "accident" | "disease"
    event_id: str
    employer_uscc: str
    employer_name: str
    occurred_on: date
    permit_no: str | None
    division_code: str


class AlertRow(NamedTuple):
    alert_id: str
    kind: str
    subject_key: str
    status: str
    division_code: str
    subject: str
    reason: str
    evidence: str
    raised_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class InboxRow(NamedTuple):
    consumer: str
    event_id: str
    topic: str
    processed_at: datetime


class OutboxRow(NamedTuple):
    event_id: str
    topic: str
    key: str
    ce_type: str
    ce_source: str
    ce_subject: str
    ce_time: datetime
    payload: str
    created_at: datetime
    sent_at: datetime | None
    lease_until: datetime | None


TABLE_OF_ROW: dict[type[Any], Table] = {
    EnterpriseRow: table_of(Enterprise),
    EnrollmentRow: table_of(Enrollment),
    PermitRow: table_of(WatchedPermit),
    FindingRow: table_of(Finding),
    IncidentRow: table_of(Incident),
    AlertRow: table_of(Alert),
    InboxRow: table_of(ProcessedEvent),
    OutboxRow: table_of(OutboxMessage),
}
