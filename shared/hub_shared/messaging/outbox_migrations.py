"""Revisions every service's outbox takes alike (each service has its own outbox table)."""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

_PARKED = ("parked_at", "parked_reason")


def add_parked_columns() -> None:
    """The relay parks rows the broker refuses for good (hub_shared.messaging.outbox).
    Tables adopted from before migrations (made from the models) may have the columns
    already."""
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("outbox")}
    with op.batch_alter_table("outbox") as batch:
        if "parked_at" not in columns:
            batch.add_column(
                sa.Column("parked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
            )
        if "parked_reason" not in columns:
            batch.add_column(
                sa.Column(
                    "parked_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
                )
            )


def drop_parked_columns() -> None:
    with op.batch_alter_table("outbox") as batch:
        for name in _PARKED:
            batch.drop_column(name)
