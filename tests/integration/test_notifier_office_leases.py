"""Office leases: however many notifier replicas run, each office is delivered to by one
worker at a time (so its circuit breaker's probe and drain rate bound hold globally), the
offices are shared out among the live workers, and a stopped or dead worker's offices move
to the others. Against SQLite and PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from hub_shared.storage.db import SessionFactory, make_engine, make_sessions
from hub_shared.storage.migrations import migrate
from notifier.delivery.leases import LEASE_SECONDS, add_offices, hold_offices, leave
from notifier.tables import SCHEMA

OFFICES = [f"office-{n:02d}" for n in range(13)]  # twelve counties and the city
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = make_engine(database_url)
    await migrate(engine, SCHEMA)
    await add_offices(make_sessions(engine), OFFICES)
    yield make_sessions(engine)
    await engine.dispose()


async def _hold(sessions: SessionFactory, worker: str, at: datetime) -> set[str]:
    async with sessions() as session, session.begin():
        return await hold_offices(session, worker, OFFICES, now=at)


async def _rounds(
    sessions: SessionFactory, workers: list[str], start: datetime, rounds: int
) -> dict[str, set[str]]:
    """Every worker steps once a second, in turn, as their loops would."""
    held: dict[str, set[str]] = {}
    for n in range(rounds):
        for w in workers:
            held[w] = await _hold(sessions, w, start + timedelta(seconds=n))
    return held


def _assert_shared_out(held: dict[str, set[str]]) -> None:
    everyone = [office for offices in held.values() for office in offices]
    assert sorted(everyone) == OFFICES, "every office held, by exactly one worker"
    share = math.ceil(len(OFFICES) / len(held))
    assert all(len(offices) <= share for offices in held.values()), held


async def test_one_worker_holds_every_office(sessions: SessionFactory) -> None:
    held = await _rounds(sessions, ["w1"], T0, rounds=1)
    assert held == {"w1": set(OFFICES)}


async def test_offices_are_shared_out_among_live_workers(sessions: SessionFactory) -> None:
    held = await _rounds(sessions, ["w1", "w2", "w3"], T0, rounds=3)
    _assert_shared_out(held)
    # A second, third... step keeps the same split: no office hops between workers.
    again = await _rounds(sessions, ["w1", "w2", "w3"], T0 + timedelta(seconds=3), rounds=2)
    assert again == held


async def test_a_stopped_worker_gives_its_offices_back_at_once(
    sessions: SessionFactory,
) -> None:
    held = await _rounds(sessions, ["w1", "w2"], T0, rounds=2)
    assert held["w2"], "w2 had offices"
    async with sessions() as session, session.begin():
        await leave(session, "w2")
    after = await _hold(sessions, "w1", T0 + timedelta(seconds=2))
    assert after == set(OFFICES)


async def test_a_dead_worker_loses_its_offices_when_its_leases_run_out(
    sessions: SessionFactory,
) -> None:
    held = await _rounds(sessions, ["w1", "w2"], T0, rounds=2)
    assert held["w2"], "w2 had offices"
    # w2 is killed: it renews nothing. Until its leases run out its offices stay with it.
    early = await _hold(sessions, "w1", T0 + timedelta(seconds=LEASE_SECONDS / 2))
    assert early == held["w1"]
    late = await _hold(sessions, "w1", T0 + timedelta(seconds=LEASE_SECONDS + 2))
    assert late == set(OFFICES)


async def test_a_worker_whose_own_leases_ran_out_holds_only_what_it_takes_back(
    sessions: SessionFactory,
) -> None:
    """A worker that stalled past its leases, with another worker live: it takes back its
    share, and the rest of its expired rows are not its own any more."""
    await _hold(sessions, "w1", T0)  # w1 alone: all thirteen
    await _hold(sessions, "w2", T0 + timedelta(seconds=1))  # w2 arrives: none free yet
    late = T0 + timedelta(seconds=LEASE_SECONDS + 1)  # w1 stalled; w2 just still live
    w1 = await _hold(sessions, "w1", late)
    assert len(w1) == math.ceil(len(OFFICES) / 2)
    w2 = await _hold(sessions, "w2", late)
    _assert_shared_out({"w1": w1, "w2": w2})
