"""The web_sessions table (hub_shared.web.web_sessions), as the services with pages create it."""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

_TEXT = sqlmodel.sql.sqltypes.AutoString


def create_web_sessions() -> None:
    """Tables adopted from before migrations (made from the models) may have it already."""
    if "web_sessions" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "web_sessions",
        sa.Column("id_digest", _TEXT(length=64), nullable=False),
        sa.Column("purpose", _TEXT(length=16), nullable=False),
        sa.Column("principal_kind", _TEXT(length=16), nullable=False),
        sa.Column("principal_id", _TEXT(length=64), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id_digest"),
    )
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])


def drop_web_sessions() -> None:
    op.drop_index("ix_web_sessions_expires_at", table_name="web_sessions")
    op.drop_table("web_sessions")
