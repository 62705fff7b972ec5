"""enrollment's tables: the coverage registry, the permits it watches, alerts, and the
enterprise import jobs (enrollment.imports.api)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Column, Index, Text, text
from sqlmodel import Field, SQLModel

from hub_shared import clock
from hub_shared.import_jobs.tables import ImportJobColumns
from hub_shared.storage.db import table_of
from hub_shared.storage.migrations import Schema


class Enterprise(SQLModel, table=True):
    __tablename__ = "enrollment_enterprises"

    uscc: str = Field(primary_key=True, max_length=18)
    name: str = Field(max_length=200)
    division_code: str = Field(max_length=6, index=True)
    industry_code: str = Field(max_length=2)
    employees: int
    updated_at: datetime = Field(default_factory=clock.now)


class Enrollment(SQLModel, table=True):
    """A work-injury insurance enrollment: per project, or of an employer's staff."""

    __tablename__ = "enrollment_enrollments"

    enrollment_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    permit_no: str | None = Field(default=None, max_length=40, index=True)
    project_code: str | None = Field(default=None, max_length=32, index=True)
    project_name: str | None = Field(default=None, max_length=300)
    project_name_key: str | None = Field(default=None, max_length=300)
    employer_uscc: str = Field(max_length=18, index=True)
    employer_name: str = Field(max_length=200)
    division_code: str = Field(max_length=6)
    insured_headcount: int
    valid_from: date
    valid_to: date | None = None
    terminated_on: date | None = None
    content_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=clock.now)


class Finding(SQLModel, table=True):
    """A department found an enterprise without work-injury insurance."""

    __tablename__ = "enrollment_findings"

    finding_id: str = Field(primary_key=True, max_length=64)
    uscc: str = Field(max_length=18, index=True)
    name: str = Field(max_length=200)
    division_code: str = Field(max_length=6)
    found_on: date
    source_department: str = Field(max_length=100)
    note: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str = Field(max_length=64)


class WatchedPermit(SQLModel, table=True):
    """A permit from permits.v1, with the durable due time of its grace period."""

    __tablename__ = "enrollment_permits"

    permit_no: str = Field(primary_key=True, max_length=40)
    event_id: str = Field(max_length=36)
    revision: int = 1
    project_code: str | None = Field(default=None, max_length=32)
    project_name: str = Field(max_length=300)
    project_name_key: str = Field(max_length=300)
    division_code: str = Field(max_length=6)
    contractor_uscc: str = Field(max_length=18, index=True)
    contractor_name: str = Field(max_length=200)
    received_at: datetime
    due_at: datetime = Field(index=True)
    checked_at: datetime | None = Field(default=None, index=True)


class Alert(SQLModel, table=True):
    __tablename__ = "enrollment_alerts"
    __table_args__ = (
        # At most one open alert per kind and subject, even across matcher instances.
        Index(
            "uq_enrollment_alerts_open",
            "kind",
            "subject_key",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    alert_id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=40)
    # Looked up by id, or open by kind and subject (the index above): nothing else reads
    # this table (offices read the notifier's copy), so neither column has an index.
    subject_key: str = Field(max_length=80)
    status: str = Field(max_length=16)
    division_code: str = Field(max_length=6)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    raised_at: datetime = Field(default_factory=clock.now)
    resolved_at: datetime | None = None
    resolution: str | None = Field(default=None, max_length=64)
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = Field(default=None, max_length=64)


class Incident(SQLModel, table=True):
    """An accident or occupational-disease diagnosis, matched against employer coverage."""

    __tablename__ = "enrollment_incidents"

    incident_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # "accident" | "disease"
    event_id: str = Field(max_length=36)
    employer_uscc: str = Field(max_length=18, index=True)
    employer_name: str = Field(max_length=200)
    occurred_on: date
    permit_no: str | None = Field(default=None, max_length=40)
    division_code: str = Field(max_length=6)


TABLES: list[type[SQLModel]] = [Enterprise, Enrollment, Finding, WatchedPermit, Alert, Incident]


class ImportJob(ImportJobColumns, table=True):
    """One submitted import file: its progress and counts."""

    __tablename__ = "enrollment_imports"

    client_id: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16, index=True)  # running | done | failed
    updated: int = 0
    duplicates: int = 0
    warning_count: int = 0
    started_at: datetime = Field(default_factory=clock.now)
    heartbeat_at: datetime = Field(default_factory=clock.now)
    finished_at: datetime | None = None


class ImportIssue(SQLModel, table=True):
    """A row's error (not applied) or warning (superseded by a later row of the same USCC)."""

    __tablename__ = "enrollment_import_errors"
    __table_args__ = (Index("ix_enrollment_import_errors_job_row", "import_id", "row_no"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: str = Field(max_length=36)
    row_no: int
    column_name: str = Field(max_length=40)
    level: str = Field(max_length=8)
    msg: str = Field(sa_column=Column(Text, nullable=False))


IMPORT_TABLES: list[type[SQLModel]] = [ImportJob, ImportIssue]

# The tables this service owns and where their migrations live.
SCHEMA = Schema(
    service="enrollment",
    own_tables=[table_of(m) for m in [*TABLES, *IMPORT_TABLES]],
    migrations=Path(__file__).with_name("migrations"),
)
