"""`hub audit verify` against a service's real audit trail (the real broker for the
published heads): an edited, deleted or reordered entry is named, a chain rewritten after
its head was published is caught, and retention keeps the rest verifiable."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from hub_shared.audit.chain import entry_hash
from hub_shared.audit.trail import audit_chain
from hub_shared.audit.verification import stored_chain
from hub_shared.storage.db import make_engine
from hubtools.audit_cli import check
from hubtools.cli import app as hub
from hubtools.kafka import LocalKafka
from tests.integration.test_audit_trail import _env, _exchange, incidents
from tests.support.hub import wait_for

TAMPERING = {
    "edited": ["UPDATE audit_log SET outcome = '299' WHERE seq = 3"],
    "deleted": ["DELETE FROM audit_log WHERE seq = 3"],
    "reordered": [
        "UPDATE audit_log SET seq = -1 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = -1",
    ],
}


async def _audited_database(env: dict[str, str]) -> None:
    async with incidents(env) as (client, app):
        await _exchange(client)
        await wait_for(lambda: _count_at_least(app, 6), what="the exchanges in the audit trail")


async def _count_at_least(app: Any, count: int) -> bool:
    await app.state.runtime.audit.flush()
    async with app.state.runtime.engine.connect() as conn:
        found = (await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar_one()
    return int(found) >= count


async def _execute(
    database_url: str, statements: list[str], values: list[dict[str, Any]] | None = None
) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            for statement, bound in zip(statements, values or [{}] * len(statements), strict=True):
                await conn.execute(text(statement), bound)
    finally:
        await engine.dispose()


async def _verify(env: dict[str, str], *options: str) -> Result:
    """`hub audit verify incidents`, in a thread: the command runs its own event loop."""
    args = ["audit", "verify", "incidents", *options]
    return await asyncio.to_thread(CliRunner().invoke, hub, args, env=env)


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
async def test_verify_names_the_tampered_entry(
    kafka: LocalKafka, sqlite_url: str, tmp_path: Path, tampering: str
) -> None:
    env = _env(kafka, sqlite_url, tmp_path, f"audit-{uuid.uuid4().hex[:8]}")
    await _audited_database(env)
    clean = await _verify(env)
    assert clean.exit_code == 0, clean.output
    assert "intact" in clean.output

    await _execute(sqlite_url, TAMPERING[tampering])
    found = await _verify(env)
    assert found.exit_code == 1, found.output
    assert f"entry 3 {tampering}" in found.output


async def test_a_rewritten_chain_disagrees_with_the_published_heads(
    kafka: LocalKafka, sqlite_url: str, tmp_path: Path
) -> None:
    env = _env(kafka, sqlite_url, tmp_path, f"audit-{uuid.uuid4().hex[:8]}")
    await _audited_database(env)  # stopping publishes the last head
    # Rewrite entry 2 and every hash after it, so that the chain alone verifies again.
    engine = make_engine(sqlite_url)
    try:
        _anchor, links = await stored_chain(engine)
        prev, values = links[0].entry_hash, []
        for link in links[1:]:
            content = {**link.content, "actor": "someone-else"} if link.seq == 2 else link.content
            digest = entry_hash(prev, content)
            values.append(
                {"actor": content["actor"], "prev": prev, "digest": digest, "seq": link.seq}
            )
            prev = digest
    finally:
        await engine.dispose()
    rewrite = (
        "UPDATE audit_log SET actor = :actor, prev_hash = :prev, entry_hash = :digest "
        "WHERE seq = :seq"
    )
    await _execute(sqlite_url, [rewrite] * len(values), values)
    alone = await _verify(env, "--no-heads")
    assert alone.exit_code == 0, alone.output
    found = await _verify(env)
    assert found.exit_code == 1, found.output
    assert "contradicts-published-head" in found.output


async def test_retention_prunes_old_entries_and_the_rest_still_verifies(
    kafka: LocalKafka, sqlite_url: str, tmp_path: Path
) -> None:
    env = _env(kafka, sqlite_url, tmp_path, f"audit-{uuid.uuid4().hex[:8]}")
    async with incidents(env) as (client, app):
        await _exchange(client)
        await wait_for(lambda: _count_at_least(app, 6), what="the audit entries")
        trail = app.state.runtime.audit
        assert await trail.prune() == 0  # nothing is 30 days old yet
        # Seen from 30 days and a second later, every entry so far is past retention.
        later = datetime.now(UTC) + timedelta(days=30, seconds=1)
        pruned = await trail.prune(now=later)
        assert pruned >= 6
        await _exchange(client)
        await wait_for(lambda: _count_at_least(app, 4), what="entries after pruning")
    finding, walked, heads = await check(
        audit_chain(app.state.settings),
        database_url=sqlite_url,
        bootstrap=kafka.bootstrap,
        options={},
    )
    assert finding is None, finding
    assert walked >= 4 and heads >= 1
