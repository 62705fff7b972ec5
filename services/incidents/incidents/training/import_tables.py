"""Tables of roster imports: the job (progress and counters) and its row issues."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Table
from sqlmodel import Field, SQLModel

from hub_shared import clock
from hub_shared.import_jobs.tables import ImportJobColumns
from hub_shared.storage.db import table_of


class IncidentsRosterImport(ImportJobColumns, table=True):
    """One key-personnel import job, its progress and outcome."""

    __tablename__ = "incidents_roster_imports"

    client_id: str = Field(max_length=64)
    status: str = Field(max_length=16)  # running | done | failed
    started_at: datetime = Field(
        default_factory=clock.now, sa_type=DateTime(timezone=True), nullable=False
    )
    heartbeat_at: datetime = Field(  # revision 0040; older jobs have their `started_at`
        default_factory=clock.now, sa_type=DateTime(timezone=True), nullable=False
    )
    finished_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


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
