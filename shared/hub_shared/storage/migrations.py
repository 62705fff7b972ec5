"""Schema migrations with alembic. Each service keeps its revisions beside its models
(`<package>/migrations`, with its own version table, so services could even share one
database) and upgrades its database to the newest revision when it starts.

A database made before migrations existed (the service's tables, no version table) is
stamped at the baseline revision first, then upgraded, and must then match the models.
Instances starting together take turns: PostgreSQL by an advisory lock, SQLite by its write
lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import command, op
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, Table, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from hub_shared.audit.tables import AuditAnchor, AuditEntry
from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.messaging.processed_events import ProcessedEvent
from hub_shared.storage.db import table_of
from hub_shared.tracing.links import TraceLink

BASELINE = "0001"
_LOCK = 3708_2021_99  # any constant shared by the instances of every service


@dataclass(frozen=True)
class Schema:
    """A service's own tables (the outbox, the inbox and the audit trail added) and its
    migrations folder."""

    service: str
    own_tables: Sequence[Table]
    migrations: Path

    @property
    def tables(self) -> list[Table]:
        shared = (OutboxMessage, ProcessedEvent, AuditEntry, AuditAnchor, TraceLink)
        return [*(table_of(model) for model in shared), *self.own_tables]

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.service.replace('-', '_')}"

    def metadata(self) -> MetaData:
        """The service's tables alone (one process may have imported every service's)."""
        metadata = MetaData()
        for table in self.tables:
            table.to_metadata(metadata)
        return metadata

    def config(self, connection: Connection) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.migrations))
        config.attributes.update(connection=connection, schema=self)
        # New revisions (`hub db revision`) come out linted and formatted like the code.
        hooks = {"ruff_fix": "check --fix --quiet", "ruff_format": "format --quiet"}
        config.set_section_option("post_write_hooks", "hooks", ", ".join(hooks))
        for hook, options in hooks.items():
            config.set_section_option("post_write_hooks", f"{hook}.type", "module")
            config.set_section_option("post_write_hooks", f"{hook}.module", "ruff")
            config.set_section_option(
                "post_write_hooks", f"{hook}.options", f"{options} REVISION_SCRIPT_FILENAME"
            )
        return config


async def migrate(engine: AsyncEngine, schema: Schema) -> None:
    """Bring the database to the newest revision of `schema` (a no-op when it is there)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK})"))
        await conn.run_sync(_upgrade, schema)


# The inbox and the outbox are the same tables in every service's database, defined once
# (hub_shared.messaging.processed_events, hub_shared.messaging.outbox); each service's
# baseline revision makes them by calling these, so the four baselines cannot drift apart.
# They are what alembic generated for the models at the baseline; later changes are
# revisions of their own (`key_inbox`), never edits here, or databases made earlier would
# differ.
def create_inbox_and_outbox() -> None:
    """In a baseline revision: the shared inbox (keyed as it was then: consumer, event id)
    and outbox tables."""
    op.create_table(
        "inbox",
        sa.Column("consumer", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("ce_type", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("ce_source", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("ce_subject", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("ce_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_sent_at"), ["sent_at"], unique=False)


def drop_inbox_and_outbox() -> None:
    """In a baseline revision's downgrade: undo `create_inbox_and_outbox`."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_sent_at"))

    op.drop_table("outbox")
    op.drop_table("inbox")


def key_inbox(*columns: str) -> None:
    """In a revision: the inbox's primary key over `columns`, in that order (every service's
    inbox is the shared model's). SQLite cannot alter a key: the table is copied afresh."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("inbox", recreate="always") as batch:
            batch.create_primary_key("inbox_pkey", list(columns))
    else:
        op.drop_constraint("inbox_pkey", "inbox", type_="primary")
        op.create_primary_key("inbox_pkey", "inbox", list(columns))


def key_inbox_event_first() -> None:
    """Every service's inbox-key revision: the event id first. Its leading bytes tell keys
    apart (the consumer's never do), so PostgreSQL builds the key several times quicker, as
    a replay does."""
    key_inbox("event_id", "consumer")


def key_inbox_consumer_first() -> None:
    """Undo `key_inbox_event_first`: the baseline's key."""
    key_inbox("consumer", "event_id")


def current_revision(connection: Connection, schema: Schema) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": schema.version_table})
    return context.get_current_revision()


class UnversionedSchema(RuntimeError):
    """Tables from before migrations that are not the baseline: adopting them would hide
    the difference, so the service refuses to start."""


def _upgrade(connection: Connection, schema: Schema) -> None:
    config = schema.config(connection)
    if current_revision(connection, schema) is None:
        existing = set(inspect(connection).get_table_names())
        if existing & {t.name for t in schema.own_tables}:  # made by create_all before
            _adopt(connection, schema, config)
            return
    command.upgrade(config, "head")


_MOVE_BY_HAND = "move the data by hand or start from an empty database"


def _adopt(connection: Connection, schema: Schema, config: Config) -> None:
    """Take the tables as the baseline's and upgrade them; then they must be the models'
    (as far as alembic compares: columns, types, indexes), or UnversionedSchema, and the
    caller's transaction undoes it all."""
    try:
        command.stamp(config, BASELINE)
        command.upgrade(config, "head")
    except Exception as exc:  # a revision met tables it did not expect
        raise UnversionedSchema(
            f"{schema.service}: the database's tables predate migrations and the revisions "
            f"after the baseline failed on them ({exc}); {_MOVE_BY_HAND}"
        ) from exc
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    found = compare_metadata(context, schema.metadata())
    # Tables the models lack are not the service's: its version table, other services'.
    if differences := [d for d in found if d[0] != "remove_table"]:
        raise UnversionedSchema(
            f"{schema.service}: the database's tables predate migrations and differ from "
            f"the baseline ({len(differences)} differences, first {differences[0]}); "
            f"{_MOVE_BY_HAND}"
        )


def run_env(context: Any) -> None:
    """The body of every service's `migrations/env.py`: run on the caller's connection,
    against the service's own tables, in batch mode on SQLite (it cannot ALTER much)."""
    connection: Connection = context.config.attributes["connection"]
    schema: Schema = context.config.attributes["schema"]
    context.configure(
        connection=connection,
        target_metadata=schema.metadata(),
        version_table=schema.version_table,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
