"""The audit trail's two tables, defined once for every service.

`audit_log` is append-only: each entry holds the hash of the one before it (`prev_hash`)
and its own (`entry_hash`), so editing, deleting or reordering rows breaks the chain.
`audit_anchor` keeps the last pruned entry's sequence number and hash: after retention
deletes the oldest entries, the first entry left still links to something known.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Integer, String
from sqlmodel import Field, SQLModel

GENESIS = "0" * 64  # the `prev_hash` of a service's very first entry


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    # Assigned by the appender (one writer at a time), never by the database: the chain's
    # order is this number, and a gap in it is a deleted entry.
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: str = Field(max_length=32, index=True)  # ISO-8601 UTC, fixed width: sorts as text
    actor: str = Field(max_length=128, index=True)  # client, office or source id
    operation: str = Field(max_length=160, index=True)  # e.g. "POST /v1/permits"
    resource: str = Field(default="", max_length=512)  # ids from the route, key=value;…
    content_hash: str = Field(default="", max_length=64)  # SHA-256 of the body exchanged
    outcome: str = Field(max_length=32)  # HTTP status, or the result of a delivery attempt
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)


class AuditAnchor(SQLModel, table=True):
    __tablename__ = "audit_anchor"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))  # last pruned entry
    entry_hash: str = Field(max_length=64)
    pruned_at: str = Field(max_length=32)


def create_audit_tables() -> None:
    """In a service's revision: the two tables, as the models above define them."""
    op.create_table(
        "audit_log",
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("at", String(32), nullable=False),
        Column("actor", String(128), nullable=False),
        Column("operation", String(160), nullable=False),
        Column("resource", String(512), nullable=False),
        Column("content_hash", String(64), nullable=False),
        Column("outcome", String(32), nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("entry_hash", String(64), nullable=False),
    )
    for column in ("at", "actor", "operation"):
        op.create_index(f"ix_audit_log_{column}", "audit_log", [column])
    op.create_table(
        "audit_anchor",
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("seq", BigInteger, nullable=False),
        Column("entry_hash", String(64), nullable=False),
        Column("pruned_at", String(32), nullable=False),
    )


def drop_audit_tables() -> None:
    op.drop_table("audit_anchor")
    for column in ("at", "actor", "operation"):
        op.drop_index(f"ix_audit_log_{column}", "audit_log")
    op.drop_table("audit_log")
