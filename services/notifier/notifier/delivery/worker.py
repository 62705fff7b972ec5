"""The delivery worker: POSTs due deliveries to office webhooks, many at once, and records
what happened. Deliveries are rows, so a restart resumes them; a crash mid-POST only
means the lease runs out and the same event (same webhook-id) is sent again.

Each office endpoint has a circuit breaker (notifier.delivery.breaker): a failing office gets one
probe now and then instead of its whole backlog, and once it answers the backlog drains
at a bounded rate. Its unbroken failures are tracked in the database
(notifier.delivery.endpoints), and past `disable_after_seconds` the endpoint is disabled with an
operational alert to the city."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import aiohttp
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.config import DeliveryConfig, HubConfig, OfficeConfig
from hub_shared.storage.db import SessionFactory
from notifier.delivery.attempt import DeliveryMetrics, post_delivery
from notifier.delivery.breaker import BreakerState, EndpointBreaker, endpoint_failed
from notifier.delivery.endpoints import load_endpoints, track_health
from notifier.delivery.leases import HOLD_EVERY_SECONDS, add_offices, hold_offices, leave
from notifier.delivery.pipeline import OfficeQueues
from notifier.delivery.store import (
    Claimed,
    Outcome,
    claim_due,
    record_outcomes,
    release,
    release_ids,
)
from notifier.tables import Endpoint

__all__ = ["DeliveryMetrics", "DeliveryWorker"]
log = logging.getLogger(__name__)
_LEASE_MARGIN_SECONDS = 30.0
# While POSTs are in flight, steps come at most this often: each step is a transaction,
# and gathering a few finished attempts into it spends the database far less.
_MIN_STEP_SECONDS = 0.05


def _gone(rows: dict[str, Endpoint], office: str) -> bool:
    row = rows.get(office)
    return row is not None and row.disabled_at is not None


class DeliveryWorker:
    """Claims due deliveries and POSTs them concurrently, at most `max_in_flight` at once
    and `per_office` to any one office, so one slow office cannot starve the others."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        hub: HubConfig,
        metrics: DeliveryMetrics | None = None,
        max_in_flight: int = 256,
        per_office: int = 32,
        poll_seconds: float = 1.0,
        rng: random.Random | None = None,
        on_alerts_changed: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._hub = hub
        self._config: DeliveryConfig = hub.delivery
        self._offices: dict[str, OfficeConfig] = {o.id: o for o in hub.offices if o.webhook_url}
        self._endpoints = {o.id: o.webhook_url or "" for o in self._offices.values()}
        self.breakers = {o: EndpointBreaker(self._config) for o in self._offices}
        self._metrics = metrics
        self._max = max_in_flight
        self._per_office = per_office
        self._poll = poll_seconds
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._on_alerts_changed = on_alerts_changed
        self._wake = asyncio.Event()
        self._in_flight: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._done: list[Outcome] = []
        self._clients: dict[str, aiohttp.ClientSession] = {}
        self._next_due: datetime | None = None
        self._last_step = 0.0
        self._owner = str(uuid.uuid4())  # this worker's name on the leases it holds
        self._lease = self._config.timeout_seconds + _LEASE_MARGIN_SECONDS
        self._queues = OfficeQueues(per_office, start_within=_LEASE_MARGIN_SECONDS)
        self._held: set[str] = set()  # the offices this worker delivers to (office_leases)
        self._hold_at = 0.0  # loop time of the next renewal of those leases
        self._attempts: Counter[str] = Counter()
        self._fresh = False  # new deliveries were committed since the step began
        self.delivered = 0

    @property
    def held_offices(self) -> set[str]:
        """The offices this worker delivers to now (one worker per office: office_leases)."""
        return set(self._held)

    def attempts_to(self, office: str) -> int:
        """POSTs this worker has made to the office since it started."""
        return self._attempts[office]

    def notify(self) -> None:
        """New deliveries were committed: look for work now instead of at the next poll."""
        self._fresh = True
        self._wake.set()

    async def run(self) -> None:
        if not self._offices:
            log.info("delivery worker: no office has a webhook_url; nothing to deliver")
            return
        await add_offices(self._sessions, list(self._offices))
        async with contextlib.AsyncExitStack() as stack:
            # A connection pool per office: one slow office cannot hold the others'
            # connections. Redirects are not followed: a 3xx is an answer, not a 2xx.
            for office_id in self._offices:
                connector = aiohttp.TCPConnector(limit=self._per_office)
                self._clients[office_id] = await stack.enter_async_context(
                    aiohttp.ClientSession(
                        connector=connector,
                        auto_decompress=False,
                        trust_env=False,
                        skip_auto_headers=("User-Agent",),
                        headers={"user-agent": "hub-notifier/1"},
                    )
                )
            try:
                while True:
                    await self._step()
            finally:
                await self._stop_in_flight()
                self._clients.clear()

    async def _step(self) -> None:
        """Record what finished and claim what is due, in one transaction; start the POSTs;
        then sleep until a POST finishes, new deliveries arrive, or a retry falls due."""
        self._wake.clear()
        self._fresh = False
        self._last_step = asyncio.get_running_loop().time()
        # Outcomes leave `_done` only once committed: a stop in mid-transaction still
        # records them in `_stop_in_flight`.
        outcomes = list(self._done)
        if self._next_due is not None and self._next_due <= clock.now():
            self._next_due = None
        self._judge(outcomes)
        async with self._sessions() as session, session.begin():
            if self._last_step >= self._hold_at:
                self._held = await hold_offices(session, self._owner, list(self._offices))
                self._hold_at = self._last_step + HOLD_EVERY_SECONDS
            rows = await load_endpoints(session, self._endpoints)
            next_due, disabled = await self._record(session, outcomes, rows)
            # Queues of offices whose breaker opened, whose endpoint went, or which went to
            # another worker are given back.
            held = self._queues.give_back(
                lambda o: self._closed(o) and not _gone(rows, o) and o in self._held
            )
            await release_ids(session, self._owner, held)
            quota = self._quota(rows)
            limit = max(self._max - sum(self._queues.running.values()), 0) + sum(
                self._queues.room(o) for o, n in quota.items() if n and self._closed(o)
            )
            claimed = await claim_due(
                session, quota=quota, limit=limit, lease_seconds=self._lease, owner=self._owner
            )
            if len(claimed) >= limit:
                quota = {}  # the global limit cut the claim short: no word on backlogs
        del self._done[: len(outcomes)]
        for o in outcomes:
            self._in_flight.pop(o.delivery.id, None)
        self._recorded(outcomes, next_due, disabled)
        probes = await self._claimed(claimed, quota)
        for c in claimed:
            if c.id in probes:
                self._start(c, probe=True)
            else:
                self._queues.add(c)
        for office in self._queues.offices():
            self._fill(office)
        if self._done or self._wake.is_set():
            if not self._fresh:  # new deliveries go out at once; outcomes can wait a bit
                await self._pace()
            return
        await self._sleep()

    def _start(self, claimed: Claimed, *, probe: bool = False) -> None:
        self._queues.running[claimed.office_id] += 1
        task = asyncio.create_task(self._deliver(claimed, probe=probe))
        self._in_flight[claimed.id] = (claimed.office_id, task)

    def _fill(self, office: str) -> None:
        """Start the office's queued deliveries while it and the worker have free slots."""
        while self._queues.slots(office) > 0 and sum(self._queues.running.values()) < self._max:
            claimed = self._queues.pop(office)
            if claimed is None:
                return
            self._start(claimed)

    def _closed(self, office: str) -> bool:
        return self.breakers[office].state is BreakerState.CLOSED

    async def _pace(self) -> None:
        """Let a few more attempts finish before the next step, while any are in flight."""
        if self._in_flight:
            elapsed = asyncio.get_running_loop().time() - self._last_step
            if elapsed < _MIN_STEP_SECONDS:
                await asyncio.sleep(_MIN_STEP_SECONDS - elapsed)

    def _judge(self, outcomes: list[Outcome]) -> None:
        """Feed the breakers, in the order the attempts finished."""
        for o in outcomes:
            breaker = self.breakers.get(o.delivery.office_id)
            if breaker is not None and not o.gone:
                breaker.record(
                    failed=endpoint_failed(o.status_code), probe=o.probe, retry_after=o.retry_after
                )
        if self._metrics is not None:
            for office, breaker in self.breakers.items():
                held = breaker.state in (BreakerState.OPEN, BreakerState.HALF_OPEN)
                self._metrics.breaker.labels(office).set(1 if held else 0)

    async def _record(
        self,
        session: AsyncSession,
        outcomes: list[Outcome],
        rows: dict[str, Endpoint] | None = None,
    ) -> tuple[datetime | None, list[str]]:
        next_due = await record_outcomes(session, outcomes, delivery=self._config, rng=self._rng)
        disabled = await track_health(
            session, outcomes, offices=self._hub.offices, delivery=self._config, rows=rows
        )
        return next_due, [d.office_id for d in disabled]

    def _quota(self, rows: dict[str, Endpoint]) -> dict[str, int]:
        """How many deliveries each office may have claimed now: its free POST slots, or
        what its breaker allows, plus room in its queue while the breaker is closed; none
        once its endpoint is disabled."""
        quota: dict[str, int] = {}
        for office in self._offices:
            if _gone(rows, office) or office not in self._held:
                quota[office] = 0
                continue
            room = self._queues.slots(office)
            allowed = self.breakers[office].quota()
            if allowed is None:  # closed
                room += self._queues.room(office)
            quota[office] = max(min(room, allowed if allowed is not None else room), 0)
        return quota

    async def _claimed(self, claimed: list[Claimed], quota: dict[str, int]) -> set[int]:
        """Tell the breakers what was claimed; the ids that are probes."""
        count = Counter(c.office_id for c in claimed)
        probes: set[int] = set()
        for office, breaker in self.breakers.items():
            if await breaker.claimed(count.get(office, 0), quota.get(office)):
                probes.update(c.id for c in claimed if c.office_id == office)
        return probes

    async def _sleep(self) -> None:
        wait = self._poll
        if self._next_due is not None:
            wait = min(wait, max((self._next_due - clock.now()).total_seconds(), 0.0))
        for breaker in self.breakers.values():
            wake_in = breaker.wake_in()
            if wake_in is not None:
                wait = min(wait, wake_in)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._wake.wait()

    async def _flush(self) -> None:
        """Record finished attempts, all in one transaction."""
        outcomes, self._done = self._done, []
        if not outcomes:
            return
        async with self._sessions() as session, session.begin():
            next_due, disabled = await self._record(session, outcomes)
        for o in outcomes:
            self._in_flight.pop(o.delivery.id, None)
        self._recorded(outcomes, next_due, disabled)

    def _recorded(
        self, outcomes: list[Outcome], next_due: datetime | None, disabled: list[str]
    ) -> None:
        for o in outcomes:
            if o.ok:
                self.delivered += 1
        for office in disabled:
            log.warning("office %s: webhook endpoint disabled", office)
        if disabled and self._on_alerts_changed is not None:
            self._on_alerts_changed()  # the operational alert is in the inbox now
        if next_due is not None:
            self._next_due = min(self._next_due or next_due, next_due)

    async def _deliver(self, claimed: Claimed, *, probe: bool) -> None:
        office = self._offices[claimed.office_id]
        outcome = await post_delivery(
            self._clients[claimed.office_id],
            office,
            claimed,
            timeout=self._config.timeout_seconds,
            probe=probe,
        )
        self._attempts[claimed.office_id] += 1
        if self._metrics is not None:
            self._metrics.observe(outcome)
        self._done.append(outcome)
        self._queues.running[claimed.office_id] -= 1
        if outcome.ok and self._closed(claimed.office_id):
            self._fill(claimed.office_id)  # the slot goes on with the office's queue
        self._wake.set()

    async def _stop_in_flight(self) -> None:
        """On stop: cancel POSTs in flight, record what finished, release the rest."""
        self._queues.clear()  # nothing more starts; the leases are released below
        tasks = [task for _office, task in self._in_flight.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            async with asyncio.timeout(5):
                await self._flush()
            async with self._sessions() as session, session.begin():
                async with asyncio.timeout(5):
                    await release(session, self._owner)
                async with asyncio.timeout(5):
                    await leave(session, self._owner)
        except Exception as exc:  # the leases run out on their own; only a delay is lost
            log.warning("delivery worker: could not release leases on stop: %s", exc)
        self._in_flight.clear()
