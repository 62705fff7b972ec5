"""Tables of key-personnel training (names prefixed `incidents_`). ID numbers are never
stored: only their mask and keyed digest, as for diagnoses."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub_shared import clock
from hub_shared.storage.db import table_of


def _instant(*, nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


# Columns alike in shape to inspections.tables' finding and enrollment's permits (an
# enterprise, a division, an industry): each table has its own columns.
class IncidentsKeyPerson(SQLModel, table=True):
    """One key person of an enterprise in one role (a roster row)."""

    __tablename__ = "incidents_key_personnel"
    __table_args__ = (UniqueConstraint("enterprise_uscc", "role", "person_digest"),)

    roster_id: str = Field(primary_key=True, max_length=64)  # digest of (uscc, role, person)
    enterprise_uscc: str = Field(max_length=18, index=True)
    enterprise_name: str = Field(max_length=200)
    division_code: str = Field(max_length=6, index=True)
    industry_code: str = Field(max_length=4)
    role: str = Field(max_length=24)
    person_id_masked: str = Field(max_length=18)
    person_digest: str = Field(max_length=64, index=True)
    person_name_masked: str = Field(max_length=50)
    listed_on: date
    registered_by: str = Field(max_length=64)
    registered_at: datetime = Field(default_factory=clock.now, sa_column=_instant())


# Alike in shape to incidents.tables' reports (who reported it, when it arrived): each
# record has its own columns.
class IncidentsTrainingCompletion(SQLModel, table=True):
    """A completed course of one person, from a platform (webhook) or a trainer (REST)."""

    __tablename__ = "incidents_training_completions"

    completion_id: str = Field(primary_key=True, max_length=64)
    fingerprint: str = Field(max_length=64)  # keyed: the content includes the ID number
    person_id_masked: str = Field(max_length=18)
    person_digest: str = Field(max_length=64, index=True)
    course: str = Field(max_length=200)
    hours: float
    completed_on: date
    trainer: str = Field(max_length=200)
    channel: str = Field(max_length=16)  # "platform" (webhook) or "offline" (REST)
    reported_by: str = Field(max_length=64)
    received_at: datetime = Field(default_factory=clock.now, sa_column=_instant())


class IncidentsTrainingGap(SQLModel, table=True):
    """The `training_gap` alert of an enterprise while it is open (one per enterprise)."""

    __tablename__ = "incidents_training_gaps"

    enterprise_uscc: str = Field(primary_key=True, max_length=18)
    alert_id: str = Field(max_length=36)
    division_code: str = Field(max_length=6)
    raised_on: date
    raised_at: datetime = Field(sa_column=_instant())
    resolved_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


TABLES: list[Table] = [
    table_of(m) for m in (IncidentsKeyPerson, IncidentsTrainingCompletion, IncidentsTrainingGap)
]
