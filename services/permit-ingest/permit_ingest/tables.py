"""permit-ingest's tables: accepted permits and the answers given per webhook-id."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from hub_shared import clock
from hub_shared.storage.db import table_of
from hub_shared.storage.migrations import Schema


class PermitRecord(SQLModel, table=True):
    __tablename__ = "ingest_permits"

    permit_no: str = Field(primary_key=True, max_length=40)
    first_event_id: str = Field(max_length=36)
    last_event_id: str = Field(max_length=36)
    revision: int = 1
    content_hash: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    source_id: str = Field(max_length=64)
    division_code: str = Field(max_length=6, index=True)
    received_at: datetime
    updated_at: datetime = Field(default_factory=clock.now)


class WebhookReceipt(SQLModel, table=True):
    """The first answer to a (source, webhook-id), given again when the same id comes again."""

    __tablename__ = "ingest_webhook_receipts"

    source_id: str = Field(primary_key=True, max_length=64)
    webhook_id: str = Field(primary_key=True, max_length=128)
    status_code: int
    response: str = Field(sa_column=Column(Text, nullable=False))
    # SHA-256 of the body the id first came with: the same id with another body is 409.
    # None on receipts stored before it was kept (those give their first answer as before).
    content_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=clock.now)


# The tables this service owns and where their migrations live.
SCHEMA = Schema(
    service="permit-ingest",
    own_tables=[table_of(PermitRecord), table_of(WebhookReceipt)],
    migrations=Path(__file__).with_name("migrations"),
)
