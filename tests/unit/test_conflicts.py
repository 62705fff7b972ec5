"""The one rule for redoing a transaction: which failures are conflicts, and how often."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from hub_shared.storage.conflicts import is_bad_data, is_conflict, redo_on_conflict


class _DriverError(Exception):
    def __init__(self, **codes: str) -> None:
        super().__init__("driver error")
        for name, value in codes.items():
            setattr(self, name, value)


def _wrapped(orig: BaseException) -> DBAPIError:
    return DBAPIError("UPDATE t", {}, orig)


def test_conflicts_are_taken_keys_serialization_failures_and_deadlocks() -> None:
    assert is_conflict(IntegrityError("INSERT", {}, Exception("unique")))
    assert is_conflict(_wrapped(_DriverError(sqlstate="40001")))  # asyncpg, psycopg 3
    assert is_conflict(_wrapped(_DriverError(pgcode="40P01")))  # psycopg 2
    cause = _DriverError(sqlstate="40P01")
    adapted = _DriverError()
    adapted.__cause__ = cause  # asyncpg's code behind SQLAlchemy's adapted error
    assert is_conflict(_wrapped(adapted))


def test_other_failures_are_not_conflicts() -> None:
    assert not is_conflict(OperationalError("SELECT", {}, _DriverError(sqlstate="57P01")))
    assert not is_conflict(_wrapped(_DriverError(sqlstate="23514")))
    assert not is_conflict(ValueError("40001"))


def _run(attempts: int, failures: list[BaseException], **options: object) -> list[int]:
    calls: list[int] = []

    async def work() -> None:
        async for attempt in redo_on_conflict(attempts, **options):  # type: ignore[arg-type]
            with attempt:
                calls.append(attempt.retry_state.attempt_number)
                if failures:
                    raise failures.pop(0)

    asyncio.run(work())
    return calls


def test_a_conflict_is_redone_until_the_work_succeeds() -> None:
    conflict = IntegrityError("INSERT", {}, Exception("unique"))
    assert _run(3, [conflict, conflict]) == [1, 2, 3]


def test_the_last_conflict_propagates_once_attempts_are_spent() -> None:
    conflicts: list[BaseException] = [IntegrityError("INSERT", {}, Exception(n)) for n in "ab"]
    with pytest.raises(IntegrityError) as raised:
        _run(2, conflicts)
    assert str(raised.value.orig) == "b"


def test_any_other_failure_propagates_at_once() -> None:
    with pytest.raises(ValueError, match="bad input"):
        _run(5, [ValueError("bad input")])


def test_also_names_more_failures_worth_a_redo() -> None:
    class Abandon(Exception):
        pass

    assert _run(3, [Abandon()], also=lambda exc: isinstance(exc, Abandon)) == [1, 2]
    with pytest.raises(Abandon):
        _run(3, [Abandon()])


def test_bad_data_is_what_no_retry_can_store() -> None:
    assert is_bad_data(_wrapped(_DriverError(sqlstate="22021")))  # a NUL byte in text
    assert is_bad_data(_wrapped(_DriverError(sqlstate="22003")))  # a number out of range
    assert is_bad_data(OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert not is_bad_data(_wrapped(_DriverError(sqlstate="40001")))
    assert not is_bad_data(IntegrityError("INSERT", {}, Exception("unique")))
    assert not is_bad_data(OperationalError("SELECT", {}, _DriverError(sqlstate="57P01")))
