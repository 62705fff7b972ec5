"""The columns of an import job that every service's job table has alike."""

from __future__ import annotations

from sqlalchemy import Text
from sqlmodel import Field, SQLModel


class ImportJobColumns(SQLModel):
    """Identity, media type, progress counters and final message of an import job. A
    service's table (`table=True`) adds its client, status, instants and own counters."""

    import_id: str = Field(primary_key=True, max_length=36)
    media_type: str = Field(max_length=100)
    rows_total: int | None = None
    rows_done: int = 0
    created: int = 0
    unchanged: int = 0
    rows_failed: int = 0
    error_count: int = 0
    message: str | None = Field(default=None, sa_type=Text)
