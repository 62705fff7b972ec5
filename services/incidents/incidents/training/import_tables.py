"""Tables of roster imports: the job (progress and counters) and its row issues."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Table, Text
from sqlmodel import Field, SQLModel

from hub_shared import clock
from hub_shared.db import table_of


def _instant(*, nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class IncidentsRosterImport(SQLModel, table=True):
    """One key-personnel import job, its progress and outcome."""

    __tablename__ = "incidents_roster_imports"

    import_id: str = Field(primary_key=True, max_length=36)
    client_id: str = Field(max_length=64)
    media_type: str = Field(max_length=100)
    status: str = Field(max_length=16)  # running | done | failed
    rows_total: int | None = None
    rows_done: int = 0
    created: int = 0
    unchanged: int = 0
    rows_failed: int = 0
    error_count: int = 0
    message: str | None = Field(default=None, sa_column=Column(Text))
    started_at: datetime = Field(default_factory=clock.now, sa_column=_instant())
    finished_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class IncidentsRosterImportIssue(SQLModel, table=True):
    """A row's problem: row number as a spreadsheet shows it, the column, the message (which
    never holds the cell's value: it may be an ID number)."""

    __tablename__ = "incidents_roster_import_issues"

    id: int | None = Field(default=None, primary_key=True)
    import_id: str = Field(max_length=36, index=True)
    row_no: int
    column_name: str = Field(max_length=64)
    msg: str = Field(max_length=500)


TABLES: list[Table] = [table_of(m) for m in (IncidentsRosterImport, IncidentsRosterImportIssue)]
