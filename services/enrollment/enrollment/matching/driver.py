"""Running the engine on a batch: read the facts, fold, judge, write, in the caller's
transaction. The live consumer, replay (the same consumer from offset 0) and the due-permit
scan all come through here, so each decision is made in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment.matching import needs as needs_of
from enrollment.matching import store
from enrollment.matching.facts import Facts
from enrollment.matching.fold import Event, Subject, fold, mark_due, parse
from enrollment.matching.judge import AlertChange, Index, Subjects, expand, judge
from enrollment.matching.needs import Needs
from enrollment.matching.rules import Policy
from hub_shared import clock
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.processed_events import BatchHandler
from hub_shared.messaging.topics import (
    ACCIDENTS,
    DISEASES,
    ENROLLMENTS,
    ENTERPRISES,
    FINDINGS,
    PERMITS,
)

Step = Callable[[Facts], set[Subject]]
# What the matcher reads; enterprises.v1 too, so that the registry's read side is rebuilt
# with everything else when the consumer is run from offset 0 into a fresh database.
TOPICS = [t.name for t in (ENTERPRISES, PERMITS, ENROLLMENTS, FINDINGS, ACCIDENTS, DISEASES)]


def now() -> datetime:
    """The matcher's clock: every judgement of "in force today" and "due" reads it (tests
    patch this one function)."""
    return clock.now()


def today(at: datetime) -> date:
    """The Beijing calendar date of `at`: what "in force today" is judged on."""
    return clock.local_date(at)


def batch_handler(policy: Policy, *, deferred: set[Subject] | None = None) -> BatchHandler:
    """The matcher's consumer: a poll's new events applied as one set.

    With `deferred` (a rebuild), events are folded and stored but not judged: the subjects
    they touch are gathered there and judged once the whole log is in (`judge_subjects`).
    Read from offset 0, a permit's enrollment may come polls after the permit; judging in
    between would raise an alert, send it, and resolve it again.
    """

    async def handle(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = [e for e in map(parse, envelopes) if e is not None]
        if events:
            await apply_events(session, events, policy, deferred=deferred)

    return handle


async def apply_events(
    session: AsyncSession,
    events: Sequence[Event],
    policy: Policy,
    *,
    deferred: set[Subject] | None = None,
) -> list[AlertChange]:
    at = now()

    def step(facts: Facts) -> set[Subject]:
        touched: set[Subject] = set()
        for event in events:
            touched |= fold(facts, event, policy, at)
        return touched

    initial = needs_of.of_events(events)
    return await settle(session, policy, at, events, initial, step, deferred=deferred)


async def judge_subjects(session: AsyncSession, policy: Policy, subjects: set[Subject]) -> int:
    """Judge these permits, findings and incidents on the facts as stored; returns how many
    alert changes that made."""
    at = now()
    initial = needs_of.new_needs()
    for kind, key in subjects:
        initial[kind].add(key)
    changes = await settle(session, policy, at, [], initial, lambda _facts: set(subjects))
    return len(changes)


async def judge_due(session: AsyncSession, policy: Policy, limit: int = 500) -> int:
    """Judge permits whose grace period has passed; returns how many were due."""
    at = now()
    due = list((await session.execute(store.due_permits_query(at, limit))).scalars())
    if due:
        initial = needs_of.new_needs()
        initial["permit"] = set(due)
        await settle(session, policy, at, [], initial, lambda facts: mark_due(facts, due, at))
    return len(due)


async def settle(
    session: AsyncSession,
    policy: Policy,
    at: datetime,
    events: Sequence[Event],
    initial: Needs,
    step: Step,
    *,
    deferred: set[Subject] | None = None,
) -> list[AlertChange]:
    """Read, fold, judge and write one batch. On PostgreSQL the join keys of all it reads
    are locked first; when judging reaches keys not locked yet, they are locked too and
    the batch is read again, so it is judged only on facts no other batch can be changing."""
    locked = needs_of.lock_keys(Facts(), events, Subjects())
    await store.lock(session, locked)
    while True:
        facts = Facts()
        loaded = needs_of.new_needs()
        await _load(session, facts, loaded, initial)
        touched = step(facts)
        if deferred is not None:
            deferred.update(s for s in touched if s[0] != "enrollment")
            await store.write(session, facts, [], policy.source)
            return []
        index, subjects = await _load_for_judging(session, facts, loaded, touched, policy)
        keys = needs_of.lock_keys(facts, events, subjects) - locked
        if not keys or not store.locks_keys(session):
            break
        await store.lock(session, keys)
        locked |= keys
    changes = judge(facts, subjects, index, policy, at, today(at))
    await store.write(session, facts, changes, policy.source)
    return changes


async def _load(session: AsyncSession, facts: Facts, loaded: Needs, needs: Needs) -> None:
    more = needs_of.missing(needs, loaded)
    if more:
        await store.load(session, facts, more)
        for what, keys in more.items():
            loaded[what] |= keys


async def _load_for_judging(
    session: AsyncSession, facts: Facts, loaded: Needs, touched: set[Subject], policy: Policy
) -> tuple[Index, Subjects]:
    """Read until the subjects' candidates are all in: a permit's project code, or an
    accident's permit, is known only once the permit is read."""
    enrollments = [key for kind, key in touched if kind == "enrollment"]
    while True:
        index = Index(facts)
        subjects = expand(index, touched, policy.name_threshold)
        wanted = needs_of.of_subjects(facts, subjects)
        for what, keys in needs_of.of_enrollments(facts, enrollments).items():
            wanted[what] |= keys
        if not needs_of.missing(wanted, loaded):
            return index, subjects
        await _load(session, facts, loaded, wanted)
