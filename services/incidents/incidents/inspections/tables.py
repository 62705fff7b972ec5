"""Tables of joint inspections (names prefixed `incidents_`)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Table, Text
from sqlmodel import Field, SQLModel

from hub_shared import clock
from hub_shared.storage.db import table_of


def _instant(*, nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class IncidentsInspection(SQLModel, table=True):
    """A joint inspection of one enterprise; `fingerprint` identifies its content."""

    __tablename__ = "incidents_inspections"

    inspection_id: str = Field(primary_key=True, max_length=64)
    fingerprint: str = Field(max_length=64)
    inspected_on: date
    departments: str = Field(max_length=200)  # codes joined by ","
    enterprise_uscc: str = Field(max_length=18, index=True)
    enterprise_name: str = Field(max_length=200)
    division_code: str = Field(max_length=6, index=True)
    industry_code: str = Field(max_length=4)
    reported_by: str = Field(max_length=64)
    received_at: datetime = Field(default_factory=clock.now, sa_column=_instant())


# Columns alike in shape to training.tables' key person and enrollment's permits (an
# enterprise, a division, an industry): each table has its own columns.
class IncidentsInspectionFinding(SQLModel, table=True):
    """A finding of an inspection; open until a rectification closes it.

    `overdue_due` is the durable schedule: the Beijing day after the deadline while the
    finding is open and no overdue alert was raised, else null (the scanner's index).
    """

    __tablename__ = "incidents_inspection_findings"

    finding_id: str = Field(primary_key=True, max_length=64)
    inspection_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=32)
    description: str = Field(sa_column=Column(Text, nullable=False))
    deadline: date
    responsible_department: str = Field(max_length=16)
    enterprise_uscc: str = Field(max_length=18)
    enterprise_name: str = Field(max_length=200)
    division_code: str = Field(max_length=6, index=True)
    industry_code: str = Field(max_length=4)
    inspected_on: date
    permit_no: str | None = Field(default=None, max_length=40)
    project_name: str | None = Field(default=None, max_length=200)
    overdue_due: date | None = Field(default=None, index=True)
    overdue_alert_id: str | None = Field(default=None, max_length=36)
    overdue_raised_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    rectified_on: date | None = None
    rectification_evidence: str | None = Field(default=None, sa_column=Column(Text))
    rectified_by: str | None = Field(default=None, max_length=64)
    rectified_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


TABLES: list[Table] = [table_of(m) for m in (IncidentsInspection, IncidentsInspectionFinding)]
