"""Each service's migrations build exactly the schema its models describe, on SQLite and on
PostgreSQL; a database made before migrations existed is adopted without losing a row."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, inspect, select, text
from typer.testing import CliRunner

from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.messaging.processed_events import ProcessedEvent
from hub_shared.storage.db import make_engine, table_of
from hub_shared.storage.migrations import (
    BASELINE,
    Schema,
    UnversionedSchema,
    current_revision,
    migrate,
)
from hubtools.cli import app

SERVICES = ["permit_ingest", "enrollment", "incidents", "notifier"]
LATER_TABLES = {"audit_log", "audit_anchor", "trace_links"}  # revisions 0030, 0031


def schema_of(package: str) -> Schema:
    schema: Schema = importlib.import_module(f"{package}.tables").SCHEMA
    return schema


def _differences(connection: Connection, schema: Schema) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "version_table": schema.version_table}
    )
    return list(compare_metadata(context, schema.metadata()))


def _primary_keys(connection: Connection, schema: Schema) -> dict[str, list[str]]:
    """Each table's primary key columns, in key order (compare_metadata ignores the order,
    which decides how quickly PostgreSQL builds and searches the key)."""
    found = inspect(connection)
    return {t.name: found.get_pk_constraint(t.name)["constrained_columns"] for t in schema.tables}


def _unversioned_baseline(connection: Connection, schema: Schema) -> None:
    command.upgrade(schema.config(connection), BASELINE)
    connection.execute(text(f"DROP TABLE {schema.version_table}"))


def _head(schema: Schema) -> str | None:
    return ScriptDirectory(str(schema.migrations)).get_current_head()


@pytest.mark.parametrize("package", SERVICES)
async def test_migrations_build_what_the_models_describe(package: str, database_url: str) -> None:
    schema = schema_of(package)
    engine = make_engine(database_url)
    try:
        await migrate(engine, schema)
        await migrate(engine, schema)  # a second start changes nothing
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences, schema) == []
            assert await conn.run_sync(_primary_keys, schema) == {
                t.name: [c.name for c in t.primary_key.columns] for t in schema.tables
            }
            assert await conn.run_sync(current_revision, schema) == _head(schema)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("package", SERVICES)
async def test_a_database_from_before_migrations_is_adopted(
    package: str, database_url: str
) -> None:
    """The baseline's tables without a version table (as create_all made them before every
    service had migrations), one outbox row and one inbox row in them; later revisions then
    apply, the rows kept (SQLite copies the inbox to key it anew)."""
    schema = schema_of(package)
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_unversioned_baseline, schema)
            await conn.execute(
                table_of(OutboxMessage).insert().values(
                    event_id="e-1", topic="t", ce_type="x", ce_source="/s",
                    ce_time=func.now(), payload="{}", created_at=func.now(),
                )
            )  # fmt: skip
            await conn.execute(
                table_of(ProcessedEvent)
                .insert()
                .values(consumer="c", event_id="e-2", topic="t", processed_at=func.now())
            )
        await migrate(engine, schema)
        async with engine.connect() as conn:
            assert await conn.run_sync(current_revision, schema) == _head(schema)
            count = await conn.scalar(select(func.count()).select_from(table_of(OutboxMessage)))
            assert count == 1
            inbox = (await conn.execute(select(table_of(ProcessedEvent)))).all()
            assert [(r.consumer, r.event_id, r.topic) for r in inbox] == [("c", "e-2", "t")]
    finally:
        await engine.dispose()


async def test_unversioned_tables_that_differ_from_the_baseline_are_refused(
    database_url: str,
) -> None:
    """An old local database whose tables lack a column: refused, not silently adopted."""
    schema = schema_of("permit_ingest")
    engine = make_engine(database_url)
    try:
        # The tables of a database from before migrations: none a later revision added.
        old_tables = [t for t in schema.metadata().sorted_tables if t.name not in LATER_TABLES]
        async with engine.begin() as conn:
            await conn.run_sync(schema.metadata().create_all, tables=old_tables)
            await conn.execute(text("ALTER TABLE outbox DROP COLUMN traceparent"))  # 0031's
            await conn.execute(text("ALTER TABLE outbox DROP COLUMN lease_until"))
        with pytest.raises(UnversionedSchema, match="differ from the baseline"):
            await migrate(engine, schema)
        async with engine.connect() as conn:
            assert await conn.run_sync(current_revision, schema) is None
    finally:
        await engine.dispose()


def test_hub_db_upgrades_and_reports_the_revision(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    before = runner.invoke(app, ["db", "current", "incidents", "--database-url", url])
    upgraded = runner.invoke(app, ["db", "upgrade", "incidents", "--database-url", url])
    after = runner.invoke(app, ["db", "current", "incidents", "--database-url", url])
    head = _head(schema_of("incidents"))
    assert before.exit_code == 0 and "at revision none" in before.output
    assert upgraded.exit_code == 0 and f"at revision {head}" in upgraded.output
    assert after.exit_code == 0 and f"at revision {head}" in after.output
    unknown = runner.invoke(app, ["db", "current", "payroll", "--database-url", url])
    assert unknown.exit_code == 2


async def test_alerts_held_before_0040_learn_their_department(database_url: str) -> None:
    """Revision 0040 reads subject.department out of the alerts the notifier already holds,
    so a regulator's reads (limited to its department) find them."""
    schema = schema_of("notifier")
    engine = make_engine(database_url)
    alerts = text(
        "INSERT INTO notifier_alerts (alert_id, kind, status, division_code, raised_at,"
        " event_time, payload, updated_at) VALUES (:id, :kind, 'open', '370811',"
        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :payload, CURRENT_TIMESTAMP)"
    )
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(schema.config(c), "0031"))
            for alert_id, kind, subject in (
                ("a-housing", "rectification_overdue", {"department": "housing"}),
                ("a-none", "enterprise_uninsured", {"uscc": "91370811MA3AY4C041"}),
            ):
                payload = json.dumps({"subject": subject})
                await conn.execute(alerts, {"id": alert_id, "kind": kind, "payload": payload})
        await migrate(engine, schema)
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT alert_id, department FROM notifier_alerts"))
            assert sorted(found.all()) == [("a-housing", "housing"), ("a-none", None)]
    finally:
        await engine.dispose()
