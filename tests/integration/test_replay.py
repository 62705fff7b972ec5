"""Replay (`hub replay enrollment`, the offline rebuild): the matcher's own consumer, run
from offset 0 into a fresh database, gives the same alerts and stages nothing to send to
offices again."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, UniqueConstraint, inspect
from sqlmodel import col, select
from typer.testing import CliRunner

from enrollment.app import create_app
from enrollment.matching.rebuild import rebuild
from enrollment.tables import SCHEMA, Alert, Enrollment
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.messaging.topics import topic_of
from hub_shared.runtime import ServiceRuntime
from hub_shared.storage.db import make_engine, make_sessions
from hub_shared.storage.migrations import current_revision, migrate
from hubtools.cli import app
from hubtools.kafka import LocalKafka
from tests.support.events import permit_issued, project_enrolled
from tests.support.hub import (
    consuming,
    new_permit_no,
    payload,
    running,
    settings_for,
    topic_records,
    wait_for,
    write_config,
)


def _schema_differences(connection: Connection) -> list[object]:
    opts = {"compare_type": True, "version_table": SCHEMA.version_table}
    context = MigrationContext.configure(connection, opts=opts)
    differences: list[object] = list(compare_metadata(context, SCHEMA.metadata()))
    # compare_metadata leaves primary keys and unique constraints out.
    found = inspect(connection)
    for table in SCHEMA.tables:
        keys = found.get_pk_constraint(table.name)["constrained_columns"]
        if keys != [c.name for c in table.primary_key.columns]:
            differences.append(("primary key", table.name, keys))
        unique = sorted(u["column_names"] for u in found.get_unique_constraints(table.name))
        wanted = sorted([c.name for c in u.columns] for u in table.constraints
                        if isinstance(u, UniqueConstraint))  # fmt: skip
        if unique != wanted:
            differences.append(("unique constraints", table.name, unique))
    return differences


async def _alerts(runtime_sessions: object, permits: list[str]) -> dict[str, tuple[str, str]]:
    async with runtime_sessions() as session:  # type: ignore[operator]
        rows = (await session.exec(select(Alert))).all()
    return {a.alert_id: (a.subject_key, a.status) for a in rows if a.subject_key in permits}


async def test_replay_rebuilds_the_same_alerts_and_sends_nothing_twice(
    kafka: LocalKafka, tmp_path: Path, database_url: str
) -> None:
    """Live on SQLite; rebuilt into SQLite and into PostgreSQL (`database_url`)."""
    permits = [new_permit_no() for _ in range(8)]
    enrolled_early, enrolled_late = set(permits[:2]), set(permits[2:4])
    config = write_config(tmp_path / "hub.toml", grace_seconds=0)
    live = settings_for(
        "enrollment", config=config, bootstrap=kafka.bootstrap,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'live.db'}", data_dir=tmp_path,
    )  # fmt: skip
    # The live instance only needs this test's events: a new group starting at the end.
    app = create_app(live.model_copy(update={"consumer_offset_reset": "latest"}))
    producer = Producer(kafka.bootstrap, client_id="test-replay")
    await producer.start()
    try:
        async with running(app):
            runtime: ServiceRuntime = app.state.runtime

            await consuming(app)
            # Enrollments and permits travel on different topics, in no order between them:
            # the early enrollments are applied first, so that their permits never alert.
            enrollments = [project_enrolled(p) for p in enrolled_early]
            await producer.publish_many([(topic_of(e.name).name, e) for e in enrollments])

            async def enrolled() -> bool:
                async with runtime.sessions() as session:
                    query = select(Enrollment).where(col(Enrollment.permit_no).in_(enrolled_early))
                    return len((await session.exec(query)).all()) == len(enrolled_early)

            await wait_for(enrolled, what="the early enrollments")
            issued = [permit_issued(p) for p in permits]
            await producer.publish_many([(topic_of(e.name).name, e) for e in issued])
            early = enrollments + issued

            async def raised() -> bool:
                found = await _alerts(runtime.sessions, permits)
                return len(found) == len(permits) - len(enrolled_early)

            await wait_for(raised, timeout=120, what="alerts of the unenrolled permits")
            late = [project_enrolled(p) for p in enrolled_late]
            await producer.publish_many([(topic_of(e.name).name, e) for e in late])

            async def resolved() -> bool:
                found = await _alerts(runtime.sessions, permits)
                return sum(status == "resolved" for _, status in found.values()) == 2

            await wait_for(resolved, what="the late enrollments to resolve two alerts")
            before = await _alerts(runtime.sessions, permits)

            async def all_published() -> bool:
                return await runtime.relay.pending() == 0

            await wait_for(all_published, what="the outbox to drain")
    finally:
        await producer.stop()

    rebuilt = live.model_copy(update={"database_url": database_url})
    report = await rebuild(rebuilt)
    assert report.events_applied >= len(early) + len(late)
    assert report.alerts_loaded >= len(before)
    engine = make_engine(rebuilt.database_url)
    try:
        sessions = make_sessions(engine)
        after = await _alerts(sessions, permits)
        # The shared test topics also hold other tests' history, which a fresh judge may
        # alert on; for this scenario's subjects nothing may be sent again.
        async with sessions() as session:
            staged = (await session.exec(select(OutboxMessage))).all()
        ours_staged = [
            row for row in staged if json.loads(row.payload)["subject"].get("permit_no") in permits
        ]
        assert ours_staged == [], "replay would send something to offices again"
        # The rebuilt schema is the migrations' newest, so the service starts on it as is.
        async with engine.connect() as conn:
            assert await conn.run_sync(current_revision, SCHEMA) is not None
            assert await conn.run_sync(_schema_differences) == []
        await migrate(engine, SCHEMA)
    finally:
        await engine.dispose()
    assert after == before
    records = await topic_records(kafka.bootstrap, "alerts.v1")
    ours = [payload(r) for r in records if payload(r).get("alert_id") in before]
    assert len(ours) == len(before) + 2  # raised for each, resolved for two: nothing more


def test_hub_replay_reports_what_it_applied_and_refuses_a_database_in_use(
    kafka: LocalKafka, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'rebuilt.db'}"
    env = {
        "HUB_CONFIG": str(write_config(tmp_path / "hub.toml")),
        "HUB_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "HUB_DATA_DIR": str(tmp_path),
    }
    command = ["replay", "enrollment", "--database-url", url]
    first = CliRunner().invoke(app, command, env=env)
    assert first.exit_code == 0, first.output
    assert "events applied" in first.output
    again = CliRunner().invoke(app, command, env=env)
    assert again.exit_code == 1 and "use a fresh one" in again.output
