"""Unit of work and group commit: who owns a write's transaction, its retries and its events.

A write is a plain async function of a `UnitOfWork`. It reads rows by key through
`uow.get`, changes them through `uow.session`, and stages events with
`uow.add_event(...)`; it never begins, commits or retries.
`GroupCommitter.run(write)` does that and answers only once the transaction holding the
write has committed, so a 2xx built from the answer still means durable.

Concurrent writes share a transaction (group commit). While a group is in flight the next
writes queue, and the next group takes all of them: one group at a time on SQLite (its one
connection), several on PostgreSQL (each on a pooled connection).
1. Fast path: one SELECT per model for the keys the group's writes named (`lookups`), then
   each write in turn, served from that, then one flush (SQLAlchemy batches each table's
   inserts) and COMMIT. A write that fails before writing anything (a `HubError`, say)
   gets its own error and its new rows are dropped; its neighbours go on.
2. Otherwise (a write failed after writing, or a key was taken concurrently), the group is
   rolled back and redone with each write in its own SAVEPOINT: a failing write is rolled
   back alone, and one meeting a concurrent insert of its key is redone, seeing that row.
3. A conflict at COMMIT (a PostgreSQL serialization failure or deadlock) redoes the group
   after a short random back-off; any other failure answers every write of the group with
   it, and nothing of the group is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, Unpack

from sqlalchemy import event, inspect, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.messaging.outbox import EventFields, OutboxMessage, insert_staged, outbox_row
from hub_shared.storage.conflicts import redo_on_conflict

T = TypeVar("T")
M = TypeVar("M")
Work = Callable[["UnitOfWork"], Awaitable[T]]
Lookup = tuple[type[Any], Any]  # a table model and a primary key (a tuple when composite)
Identity = tuple[type[Any], tuple[Any, ...]]

_LOOKUP_CHUNK = 500


class UnitOfWork:
    """One write's share of a transaction: its session, its reads and what it staged."""

    def __init__(self, session: AsyncSession, known: Known | None = None) -> None:
        self.session = session
        self._known = known
        self.added: list[object] = []
        self.staged: list[dict[str, Any]] = []  # outbox rows add_event staged, not yet written
        self.wrote = False  # a statement other than a SELECT ran, or a flush

    async def get(self, model: type[M], key: Any) -> M | None:
        """The row of `model` with primary key `key`, or None; without a round trip when the
        group already fetched the key, or a write before this one added the row."""
        if self._known is not None:
            found, row = self._known.lookup(model, key)
            if found:
                return row
        return await self.session.get(model, key)

    def add_event(self, name: str, **fields: Unpack[EventFields]) -> str:
        """Stage an event with this write; returns its CloudEvents id. The group writes
        every write's staged events in one INSERT (`write_staged`)."""
        row = outbox_row(name, **fields)
        self.staged.append(row)
        return str(row["event_id"])

    @property
    def events(self) -> list[str]:
        """The CloudEvents ids this write staged on the outbox."""
        added = [o.event_id for o in self.added if isinstance(o, OutboxMessage)]
        return [r["event_id"] for r in self.staged] + added

    async def write_staged(self) -> None:
        """Insert the outbox rows staged so far (the group does it once for all its writes)."""
        await insert_staged(self.session, self.staged)


class _TrackedSession(Session):
    """A session telling the running unit of work what it added and whether it wrote."""

    uow: UnitOfWork | None = None  # the unit of work running in it now


@contextmanager
def running(session: AsyncSession, known: Known | None = None) -> Iterator[UnitOfWork]:
    """A unit of work in `session`, told what it adds and whether it writes, until exit."""
    uow = UnitOfWork(session, known)
    tracked = session.sync_session
    if isinstance(tracked, _TrackedSession):
        tracked.uow = uow
    try:
        yield uow
    finally:
        if isinstance(tracked, _TrackedSession):
            tracked.uow = None


def _running(session: OrmSession) -> UnitOfWork | None:
    return session.uow if isinstance(session, _TrackedSession) else None


@event.listens_for(_TrackedSession, "transient_to_pending")
def _on_add(session: OrmSession, instance: object) -> None:
    if (uow := _running(session)) is not None:
        uow.added.append(instance)


@event.listens_for(_TrackedSession, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not state.is_select and (uow := _running(state.session)) is not None:
        uow.wrote = True


@event.listens_for(_TrackedSession, "after_flush")
def _on_flush(session: OrmSession, _context: Any) -> None:
    if (uow := _running(session)) is not None:
        uow.wrote = True


def tracked_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose units of work learn what they add and stage."""
    return async_sessionmaker(
        engine, class_=AsyncSession, sync_session_class=_TrackedSession, expire_on_commit=False
    )


def _key(key: Any) -> tuple[Any, ...]:
    return tuple(key) if isinstance(key, tuple) else (key,)


class Known:
    """The rows a group fetched by key or its writes added, and the keys found absent. It
    holds the rows: the session's identity map holds them only weakly."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._absent: set[Identity] = set()
        self._rows: dict[Identity, object] = {}

    async def fetch(self, lookups: Iterable[Lookup]) -> None:
        """One SELECT per model (per 500 keys) for the keys named."""
        wanted: dict[type[Any], set[tuple[Any, ...]]] = {}
        for model, key in lookups:
            wanted.setdefault(model, set()).add(_key(key))
        for model, keys in wanted.items():
            mapper = inspect(model)
            ordered = list(keys)
            for start in range(0, len(ordered), _LOOKUP_CHUNK):
                chunk = ordered[start : start + _LOOKUP_CHUNK]
                columns = mapper.primary_key
                where = (
                    columns[0].in_([k[0] for k in chunk])
                    if len(columns) == 1
                    else tuple_(*columns).in_(chunk)
                )
                for row in (await self._session.exec(select(model).where(where))).all():
                    self._rows[(model, tuple(mapper.primary_key_from_instance(row)))] = row
            self._absent.update((model, k) for k in keys if (model, k) not in self._rows)

    def lookup(self, model: type[M], key: Any) -> tuple[bool, M | None]:
        """(True, row or None) when known here; (False, None) when the database must say."""
        identity = (model, _key(key))
        row = self._rows.get(identity)
        if row is not None:
            return True, row  # type: ignore[return-value]
        return identity in self._absent, None

    def remember(self, rows: Sequence[object]) -> None:
        """Rows a successful write added, so later writes of the group find them."""
        for row in rows:
            mapper = inspect(type(row), raiseerr=False)
            if mapper is None:
                continue
            key = tuple(mapper.primary_key_from_instance(row))
            if None not in key:
                self._rows[(mapper.class_, key)] = row


async def transact(
    sessions: async_sessionmaker[AsyncSession],
    work: Work[T],
    *,
    after_commit: Callable[[], None] | None = None,
    attempts: int = 3,
) -> T:
    """Run `work` alone in its own transaction, redone on a conflict; then `after_commit`.
    For writes too large to share a group's transaction (an import batch, say)."""
    async for attempt in redo_on_conflict(attempts):
        with attempt:
            async with sessions() as session, session.begin():
                with running(session) as uow:
                    outcome = await work(uow)
                    await uow.write_staged()
    if after_commit is not None:
        after_commit()
    return outcome
