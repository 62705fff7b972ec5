"""Group commit: concurrent writes share one transaction (see `hub_shared.storage.uow`)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.messaging.outbox import insert_staged
from hub_shared.storage.conflicts import redo_on_conflict
from hub_shared.storage.uow import (
    Known,
    Lookup,
    Work,
    running,
    tracked_sessions,
    transact,
)
from hub_shared.tracing.context import bound
from hub_shared.web.errors import Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Abandon(Exception):
    """The fast path cannot isolate a failed write: redo the group with savepoints."""


@dataclass(eq=False)
class _Write(Generic[T]):
    work: Work[T]
    lookups: tuple[Lookup, ...]
    future: asyncio.Future[T]
    outcome: Any = None
    error: Exception | None = None
    events: list[str] = field(default_factory=list)
    staged: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.outcome, self.error, self.events, self.staged = None, None, [], []

    def answer(self) -> None:
        if self.future.done():  # the caller went away
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.outcome)

    def fail(self, exc: BaseException) -> None:
        if self.future.done():
            return
        if isinstance(exc, Exception):
            self.future.set_exception(exc)
        else:
            self.future.cancel()


def _abandoned(exc: BaseException) -> bool:
    return isinstance(exc, _Abandon)


class GroupCommitter:
    """Runs writes in shared transactions and answers each once its transaction committed.

    `max_groups` transactions may be in flight at once: 1 on SQLite (its one writer), 4 on
    PostgreSQL by default (the pool holds 10, and consumers and the relay need theirs).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        after_commit: Callable[[], None],
        max_groups: int | None = None,
        max_group_size: int = 500,
        attempts: int = 4,
    ) -> None:
        self._sessions = tracked_sessions(engine)
        self._after_commit = after_commit
        sqlite = engine.dialect.name == "sqlite"
        self._max_groups = max_groups or (1 if sqlite else 4)
        self._max_group_size = max_group_size
        self._attempts = attempts
        self._queue: deque[_Write[Any]] = deque()
        self._groups: set[asyncio.Task[None]] = set()
        self._closed = False
        self.transactions = 0  # committed group transactions
        self.committed = 0  # writes answered with success
        self.submitted = 0  # writes handed to `run`

    async def run(self, work: Work[T], *, lookups: Iterable[Lookup] = ()) -> T:
        """`work`'s answer once committed, or its error (nothing of it written). `lookups`
        name the rows it will `uow.get`, fetched with the group's others in one query."""
        if self._closed:
            raise Unavailable("the service is shutting down")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.submitted += 1
        # The group runs in a task of its own: the work keeps the caller's trace context.
        self._queue.append(_Write(bound(work), tuple(lookups), future))
        self._dispatch()
        return await future

    async def alone(self, work: Work[T]) -> T:
        """`work` in a transaction of its own (same retries), for writes too big to share."""
        return await transact(self._sessions, work, after_commit=self._after_commit)

    def start(self) -> None:
        """Accept writes (again, after a stop)."""
        self._closed = False

    async def stop(self) -> None:
        """Refuse new writes and let the groups in flight, and those queued, finish."""
        self._closed = True
        while self._groups:
            await asyncio.wait(set(self._groups))

    def _dispatch(self) -> None:
        while self._queue and len(self._groups) < self._max_groups:
            group: list[_Write[Any]] = []
            while self._queue and len(group) < self._max_group_size:
                write = self._queue.popleft()
                if not write.future.done():  # skip callers that went away before it ran
                    group.append(write)
            if not group:
                return
            task = asyncio.create_task(self._commit(group), name="group-commit")
            self._groups.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._groups.discard(task)
        self._dispatch()

    async def _commit(self, group: list[_Write[Any]]) -> None:
        try:
            await self._transact(group)
        except BaseException as exc:
            if isinstance(exc, Exception):
                log.warning("group commit of %d write(s) failed: %r", len(group), exc)
            for write in group:
                write.fail(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.transactions += 1
        self.committed += sum(w.error is None for w in group)
        if any(w.events for w in group):
            self._after_commit()
        for write in group:
            write.answer()

    async def _transact(self, group: list[_Write[Any]]) -> None:
        async for attempt in redo_on_conflict(self._attempts, also=_abandoned):
            with attempt:
                await self._once(group, fast=attempt.retry_state.attempt_number == 1)

    async def _once(self, group: list[_Write[Any]], *, fast: bool) -> None:
        for write in group:
            write.reset()
        async with self._sessions() as session, session.begin():
            known = Known(session)
            await known.fetch(lookup for write in group for lookup in write.lookups)
            for write in group:
                if fast:
                    await _apply_fast(session, known, write)
                else:
                    await _apply_isolated(session, write)
            if fast:  # the outbox rows of every write that succeeded, in their order
                await insert_staged(session, [row for w in group for row in w.staged])


async def _apply_fast(session: AsyncSession, known: Known, write: _Write[Any]) -> None:
    """The write with no savepoint; a failure that wrote nothing only drops its new rows."""
    with running(session, known) as uow:
        try:
            write.outcome = await write.work(uow)
        except DBAPIError as exc:
            raise _Abandon from exc
        except Exception as exc:
            if uow.wrote or session.dirty or session.deleted:
                raise _Abandon from exc
            for row in uow.added:
                session.expunge(row)
            write.error = exc
            return
    known.remember(uow.added)
    write.events, write.staged = uow.events, uow.staged


async def _apply_isolated(session: AsyncSession, write: _Write[Any], attempts: int = 3) -> None:
    """The write in its own SAVEPOINT, redone when it meets a concurrent insert of its key."""
    try:
        async for attempt in redo_on_conflict(attempts):
            with attempt, running(session) as uow:
                async with session.begin_nested():
                    write.outcome = await write.work(uow)
                    await uow.write_staged()
    except Exception as exc:
        write.outcome, write.error = None, exc
        return
    write.events = uow.events
