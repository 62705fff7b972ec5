"""Tables of the incidents service (names prefixed `incidents_`, unique across the hub).

Instants are stored as UTC in timezone-aware columns; SQLite hands them back naive, so
readers pass them through `clock.as_utc`.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, Table, Text
from sqlmodel import Field, SQLModel

from hub_shared import clock
from hub_shared.storage.db import table_of
from hub_shared.storage.migrations import Schema
from hub_shared.web.web_sessions import WebSession
from incidents.inspections.tables import TABLES as INSPECTION_TABLES
from incidents.training.import_tables import TABLES as IMPORT_TABLES
from incidents.training.tables import TABLES as TRAINING_TABLES


def _instant(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class IncidentsAccident(SQLModel, table=True):
    """An accepted accident report; `fingerprint` identifies its content for idempotency."""

    __tablename__ = "incidents_accidents"

    report_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(max_length=36)
    fingerprint: str = Field(max_length=64)
    occurred_at: datetime = Field(sa_column=_instant())
    occurred_on: date = Field(index=True)  # Beijing date: the year a report counts it in
    division_code: str = Field(max_length=6, index=True)
    employer_name: str = Field(max_length=200)
    employer_uscc: str = Field(max_length=18, index=True)
    permit_no: str | None = Field(default=None, max_length=40)
    industry_code: str = Field(max_length=2)  # GB/T 4754 division
    industry_class: str | None = Field(default=None, max_length=4)  # 4-digit class, if given
    grade: str = Field(max_length=16)
    deaths: int
    serious_injuries: int
    minor_injuries: int
    summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reported_by: str = Field(max_length=64)
    received_at: datetime = Field(default_factory=clock.now, sa_column=_instant())


# Alike in shape to IncidentsAccident: two kinds of report, each with its own columns.
class IncidentsDisease(SQLModel, table=True):
    """An accepted diagnosis. The ID number is never stored: only its mask and keyed digest."""

    __tablename__ = "incidents_diseases"

    diagnosis_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(max_length=36)
    fingerprint: str = Field(max_length=64)  # keyed HMAC: the content includes the ID number
    diagnosed_on: date
    patient_id_masked: str = Field(max_length=18)
    patient_digest: str = Field(max_length=64, index=True)
    patient_name_masked: str = Field(max_length=50)
    category: int
    disease: str = Field(max_length=200)
    employer_name: str = Field(max_length=200)
    employer_uscc: str = Field(max_length=18, index=True)
    division_code: str = Field(max_length=6, index=True)
    institution: str | None = Field(default=None, max_length=200)
    reported_by: str = Field(max_length=64)
    received_at: datetime = Field(default_factory=clock.now, sa_column=_instant())


class IncidentsEnterprise(SQLModel, table=True):
    """The latest known state of an enterprise (projection of `enterprises.v1`)."""

    __tablename__ = "incidents_enterprises"

    uscc: str = Field(primary_key=True, max_length=18)
    name: str = Field(max_length=200)
    division_code: str = Field(max_length=6, index=True)
    industry_code: str = Field(max_length=8)  # as published, cleaned: "E47", "47" or "4711"
    employees: int
    effective_at: datetime = Field(sa_column=_instant())
    event_id: str = Field(max_length=64)


# The projection's columns are alike in name to enrollment's tables: services never share
# tables (each owns its database), so the definitions are repeated by design.
class IncidentsEnterpriseVersion(SQLModel, table=True):
    """Every state an enterprise had, from the event time on: stock figures as of a day."""

    __tablename__ = "incidents_enterprise_versions"

    event_id: str = Field(primary_key=True, max_length=64)
    uscc: str = Field(max_length=18, index=True)
    name: str = Field(max_length=200)
    division_code: str = Field(max_length=6)
    industry_code: str = Field(max_length=8)
    employees: int
    effective_at: datetime = Field(sa_column=_instant())


class IncidentsEnrollment(SQLModel, table=True):
    """An enrollment (projection of `enrollments.v1`); a termination is never undone."""

    __tablename__ = "incidents_enrollments"

    enrollment_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    employer_uscc: str = Field(max_length=18, index=True)
    employer_name: str = Field(max_length=200)
    division_code: str = Field(max_length=6)
    insured_headcount: int
    valid_from: date
    valid_to: date | None = None
    terminated_on: date | None = None
    permit_no: str | None = Field(default=None, max_length=40)
    project_code: str | None = Field(default=None, max_length=32)
    project_name: str | None = Field(default=None, max_length=200)
    state_at: datetime = Field(sa_column=_instant())  # time of the event the fields came from
    terminated_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class IncidentsKey(SQLModel, table=True):
    """Keys generated by the service itself (the PII digest key when none is configured)."""

    __tablename__ = "incidents_keys"

    name: str = Field(primary_key=True, max_length=32)
    secret_hex: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=clock.now, sa_column=_instant())


TABLES: list[Table] = [
    table_of(model)
    for model in (
        IncidentsAccident,
        IncidentsDisease,
        IncidentsEnterprise,
        IncidentsEnterpriseVersion,
        IncidentsEnrollment,
        IncidentsKey,
    )
]

# The tables this service owns and where their migrations live.
SCHEMA = Schema(
    service="incidents",
    own_tables=[
        *TABLES,
        *INSPECTION_TABLES,
        *TRAINING_TABLES,
        *IMPORT_TABLES,
        table_of(WebSession),
    ],
    migrations=Path(__file__).with_name("migrations"),
)
