"""The group commit's promise (hub_shared.storage.group_commit), on real SQLite and PostgreSQL: a
2xx means the write is durable, a failing write fails alone, a failed commit answers no one
with success, and racing duplicates publish one event.

Writes are permit-ingest's own (`permit_ingest.service`), on its tables. A test that needs
its writes in one group holds the group in flight with a write waiting on an event: the
writes submitted meanwhile queue and make up the next group.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.storage.db import create_tables, make_engine, make_sessions, table_of
from hub_shared.storage.group_commit import GroupCommitter
from hub_shared.storage.uow import UnitOfWork
from hub_shared.web.errors import Conflict
from permit_ingest import service
from permit_ingest.service import Answer, Delivery
from permit_ingest.tables import PermitRecord, WebhookReceipt
from tests.support.hub import new_permit_no, permit, wait_for

Work = Callable[[UnitOfWork], Awaitable[Any]]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    tables = [table_of(m) for m in (PermitRecord, WebhookReceipt, OutboxMessage)]
    await create_tables(engine, tables)
    try:
        yield engine
    finally:
        await engine.dispose()


class Wakes:
    """Counts the relay wake-ups the committer asks for."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def _post(permit_no: str, webhook_id: str, **changes: Any) -> tuple[Work, list[Any]]:
    """A permit post as permit-ingest's route hands it to the committer."""
    delivery = Delivery("test-approval", webhook_id, "/hub/permit-ingest")
    accepted = service.validate_permit(permit(permit_no, **changes), delivery)

    async def work(uow: UnitOfWork) -> Answer:
        return await service.once(
            uow, delivery, lambda u: service.accept_permit(u, accepted, delivery)
        )

    return work, [service.receipt_lookup(delivery), service.permit_lookup(permit_no)]


async def _held(writes: GroupCommitter) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """A group in flight until the returned event is set; writes submitted meanwhile queue."""
    entered, release = asyncio.Event(), asyncio.Event()

    async def hold(_uow: UnitOfWork) -> None:
        entered.set()
        await release.wait()

    task = asyncio.create_task(writes.run(hold))
    async with asyncio.timeout(10):
        await entered.wait()
    return release, task


async def _submitted(writes: GroupCommitter, total: int) -> None:
    """Until the committer has been handed `total` writes in all."""

    async def handed() -> bool:
        return writes.submitted == total

    await wait_for(handed, timeout=10, what=f"{total} writes to be submitted")


async def _gather(writes: GroupCommitter, posts: list[tuple[Work, list[Any]]]) -> list[Any]:
    """Submit every post while a group is held, so that they all share the next group."""
    release, holder = await _held(writes)
    before = writes.submitted
    runs = [asyncio.ensure_future(writes.run(w, lookups=keys)) for w, keys in posts]
    await _submitted(writes, before + len(posts))
    release.set()
    await holder
    return await asyncio.gather(*runs, return_exceptions=True)


async def _count(engine: AsyncEngine, model: type[Any]) -> int:
    async with make_sessions(engine)() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_concurrent_writes_commit_in_fewer_transactions_than_writes(
    engine: AsyncEngine,
) -> None:
    wakes = Wakes()
    writes = GroupCommitter(engine, after_commit=wakes)
    posts = [_post(new_permit_no(), f"msg_{i}") for i in range(40)]
    answers = await _gather(writes, posts)
    assert [a.status_code for a in answers] == [202] * 40
    # SQLite: the held group, then the 40 together; PostgreSQL: also 3 groups started in the
    # free slots (4 in flight at most) by the first 3 posts, the 37 others together.
    assert writes.transactions <= 5
    assert await _count(engine, PermitRecord) == 40
    assert await _count(engine, OutboxMessage) == 40
    assert wakes.count == writes.transactions - 1  # the held group staged nothing


async def test_a_failing_write_gets_its_own_error_while_its_neighbours_commit(
    engine: AsyncEngine,
) -> None:
    writes = GroupCommitter(engine, after_commit=Wakes(), max_groups=1)
    stored = new_permit_no()
    await writes.run(_post(stored, "msg_first")[0])
    changed, _ = _post(stored, "msg_changed", contract_price_wan=99.0)  # 409

    async def duplicate_key(uow: UnitOfWork) -> None:
        # Adds a row whose key is taken: the flush fails (IntegrityError), not a HubError.
        uow.session.add(_record(stored))

    good = [_post(new_permit_no(), f"msg_{i}") for i in range(6)]
    group = [good[0], (changed, []), *good[1:3], (duplicate_key, []), *good[3:]]
    answers = await _gather(writes, group)
    assert isinstance(answers[1], Conflict)
    assert isinstance(answers[4], Exception) and not isinstance(answers[4], Conflict)
    neighbours = [a for i, a in enumerate(answers) if i not in (1, 4)]
    assert [a.status_code for a in neighbours] == [202] * 6
    assert await _count(engine, PermitRecord) == 7
    assert await _count(engine, WebhookReceipt) == 7  # no receipt of the rejected ones
    assert await _count(engine, OutboxMessage) == 7


async def test_a_group_reads_by_key_in_one_query_per_table_and_inserts_in_batches(
    engine: AsyncEngine,
) -> None:
    """A rejected write (409) is dropped without savepoints or a redo of its neighbours."""
    writes = GroupCommitter(engine, after_commit=Wakes(), max_groups=1)
    stored = new_permit_no()
    await writes.run(_post(stored, "msg_stored")[0])
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split("(")[0].strip().split(" WHERE")[0])

    group = [_post(new_permit_no(), f"msg_{i}") for i in range(20)]
    group.insert(7, _post(stored, "msg_changed", contract_price_wan=99.0))
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        answers = await _gather(writes, group)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert isinstance(answers[7], Conflict)
    assert sum(isinstance(a, Answer) and a.status_code == 202 for a in answers) == 20
    assert not [s for s in statements if s.startswith(("SAVEPOINT", "ROLLBACK"))], statements
    assert len([s for s in statements if s.startswith("SELECT")]) == 2, statements
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert len(inserts) == 3, inserts  # receipts, permits, outbox: one batch each


def _record(permit_no: str) -> PermitRecord:
    return PermitRecord(
        permit_no=permit_no,
        first_event_id="e",
        last_event_id="e",
        content_hash="h",
        payload="{}",
        source_id="test-approval",
        division_code="370811",
        received_at=datetime.now(UTC),
    )


async def test_a_failed_commit_answers_no_one_with_success_and_writes_nothing(
    engine: AsyncEngine,
) -> None:
    writes = GroupCommitter(engine, after_commit=Wakes(), max_groups=1)
    release, holder = await _held(writes)
    before = writes.submitted
    runs = [asyncio.ensure_future(writes.run(_post(new_permit_no(), f"m{i}")[0])) for i in range(8)]
    await _submitted(writes, before + len(runs))

    def refuse(_conn: Any) -> None:
        raise RuntimeError("the disk is full")

    event.listen(engine.sync_engine, "commit", refuse)
    try:
        release.set()
        await holder  # it ran no statement: its transaction never reached the database
        answers = await asyncio.gather(*runs, return_exceptions=True)
    finally:
        event.remove(engine.sync_engine, "commit", refuse)
    assert all(isinstance(a, RuntimeError) for a in answers), answers
    assert await _count(engine, PermitRecord) == 0
    assert await _count(engine, OutboxMessage) == 0


async def test_concurrent_duplicate_permits_yield_one_202_and_200s_with_its_event_id(
    engine: AsyncEngine,
) -> None:
    writes = GroupCommitter(engine, after_commit=Wakes(), max_groups=1)
    permit_no = new_permit_no()
    answers = await _gather(writes, [_post(permit_no, f"msg_dup_{i}") for i in range(12)])
    assert sorted(a.status_code for a in answers) == [200] * 11 + [202]
    assert len({a.body["event_id"] for a in answers}) == 1
    assert await _count(engine, OutboxMessage) == 1


async def test_duplicates_racing_on_two_instances_publish_one_event(
    engine: AsyncEngine, database_url: str
) -> None:
    """Two processes' committers (two engines): their groups conflict on the permit's key,
    and the loser's group is redone and answers 200 with the winner's event id."""
    other = make_engine(database_url)
    try:
        first = GroupCommitter(engine, after_commit=Wakes())
        second = GroupCommitter(other, after_commit=Wakes())
        permit_no = new_permit_no()
        runs = [
            (first if i % 2 else second).run(work, lookups=keys)
            for i, (work, keys) in enumerate(_post(permit_no, f"msg_race_{i}") for i in range(16))
        ]
        answers = await asyncio.gather(*runs)
    finally:
        await other.dispose()
    assert sorted(a.status_code for a in answers) == [200] * 15 + [202]
    assert len({a.body["event_id"] for a in answers}) == 1
    assert await _count(engine, OutboxMessage) == 1
    assert await _count(engine, WebhookReceipt) == 16


async def test_a_repeated_webhook_id_in_one_group_gets_the_first_answer(
    engine: AsyncEngine,
) -> None:
    writes = GroupCommitter(engine, after_commit=Wakes(), max_groups=1)
    post = _post(new_permit_no(), "msg_twice")
    first, again = await _gather(writes, [post, post])
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.body == first.body
    assert await _count(engine, OutboxMessage) == 1
