"""Reading the audit trail back: filtered, in sequence order, a page at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from hub_shared.audit.tables import AuditEntry

COLUMNS = (
    "seq",
    "at",
    "actor",
    "operation",
    "resource",
    "content_hash",
    "outcome",
    "prev_hash",
    "entry_hash",
)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    operation: str | None = None
    since: str | None = None  # ISO-8601 UTC, inclusive
    until: str | None = None  # exclusive
    after_seq: int = 0  # the cursor: the last entry of the previous page


async def page(
    engine: AsyncEngine, wanted: AuditFilter, *, limit: int
) -> tuple[list[dict[str, object]], int | None]:
    """Up to `limit` entries after the cursor, and the next cursor (None on the last page)."""
    query = select(AuditEntry).where(col(AuditEntry.seq) > wanted.after_seq)
    if wanted.actor:
        query = query.where(col(AuditEntry.actor) == wanted.actor)
    if wanted.operation:
        query = query.where(col(AuditEntry.operation) == wanted.operation)
    if wanted.since:
        query = query.where(col(AuditEntry.at) >= wanted.since)
    if wanted.until:
        query = query.where(col(AuditEntry.at) < wanted.until)
    query = query.order_by(col(AuditEntry.seq)).limit(limit + 1)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    entries = [{name: row[name] for name in COLUMNS} for row in rows[:limit]]
    more = len(rows) > limit
    return entries, (int(entries[-1]["seq"]) if more else None)


def as_csv(entries: Sequence[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(entries)
    return out.getvalue()
