"""Concurrent transactions that collide, and the one way the hub redoes their work.

A conflict is a transaction that lost a race another committed first: a unique key taken
meanwhile (IntegrityError), or PostgreSQL's serialization failure or deadlock. Redone on
the now-committed state, the same work succeeds. Every writer that redoes a transaction
(the group commit, a write alone, a consumer's record) does it through `redo_on_conflict`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, IntegrityError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import WaitBaseT

# PostgreSQL's serialization_failure and deadlock_detected: redoing the transaction is the cure.
_CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})


def sqlstates(exc: BaseException) -> set[str]:
    """The SQLSTATE codes a database error carries (PostgreSQL's; none from SQLite)."""
    if not isinstance(exc, DBAPIError):
        return set()
    orig = exc.orig
    # asyncpg's code is on the adapted error or its cause; psycopg names it sqlstate/pgcode.
    found = (
        getattr(orig, "sqlstate", None),
        getattr(orig, "pgcode", None),
        getattr(getattr(orig, "__cause__", None), "sqlstate", None),
    )
    return {state for state in found if isinstance(state, str)}


def is_conflict(exc: BaseException) -> bool:
    """A concurrent transaction got there first: the same work redone should succeed."""
    if isinstance(exc, IntegrityError):
        return True
    return not _CONFLICT_SQLSTATES.isdisjoint(sqlstates(exc))


def is_bad_data(exc: BaseException) -> bool:
    """Data no database will store however often it is retried: PostgreSQL's class 22
    (a NUL in text, a number out of range, an impossible date), or an integer too large
    for SQLite."""
    if isinstance(exc, OverflowError):
        return True
    return any(state.startswith("22") for state in sqlstates(exc))


def backoff(state: RetryCallState) -> float:
    """No wait before the first redo (the winner has committed), then a few random ms."""
    if state.attempt_number <= 1:
        return 0.0
    return random.uniform(0.0, 0.002 * 2**state.attempt_number)  # noqa: S311 - jitter only


def redo_on_conflict(
    attempts: int,
    *,
    also: Callable[[BaseException], bool] | None = None,
    before_redo: Callable[[RetryCallState], None] | None = None,
    wait: WaitBaseT = backoff,
) -> AsyncRetrying:
    """`async for attempt in redo_on_conflict(n): with attempt: ...` runs the body up to
    `attempts` times while it fails with a conflict (or what `also` accepts). Any other
    failure, and the last conflict, propagate unchanged. `wait` is the pause before a redo:
    by default none, then a few random milliseconds."""

    def redo(exc: BaseException) -> bool:
        return is_conflict(exc) or (also is not None and also(exc))

    return AsyncRetrying(
        retry=retry_if_exception(redo),
        stop=stop_after_attempt(attempts),
        wait=wait,
        before_sleep=before_redo,
        reraise=True,
    )
