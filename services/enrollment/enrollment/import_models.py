"""The tables of enterprise import jobs (enrollment.import_api): each job's progress and
counts, and its rows' errors and warnings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


def now() -> datetime:
    return datetime.now(UTC)


class ImportJob(SQLModel, table=True):
    """One submitted import file: its progress and counts."""

    __tablename__ = "enrollment_imports"

    import_id: str = Field(primary_key=True, max_length=36)
    client_id: str = Field(max_length=64, index=True)
    media_type: str = Field(max_length=100)
    status: str = Field(max_length=16, index=True)  # running | done | failed
    rows_total: int | None = None
    rows_done: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows_failed: int = 0
    duplicates: int = 0
    error_count: int = 0
    warning_count: int = 0
    message: str | None = Field(default=None, sa_column=Column(Text))
    started_at: datetime = Field(default_factory=now)
    heartbeat_at: datetime = Field(default_factory=now)
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
