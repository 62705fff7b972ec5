"""The delivery worker: POSTs due deliveries to office webhooks, many at once, and records
what happened. Deliveries are rows, so a restart resumes them; a crash mid-POST only
means the lease runs out and the same event (same webhook-id) is sent again.

Each office endpoint has a circuit breaker (notifier.breaker): a failing office gets one
probe now and then instead of its whole backlog, and once it answers the backlog drains
at a bounded rate. Its unbroken failures are tracked in the database
(notifier.endpoints), and past `disable_after_seconds` the endpoint is disabled with an
operational alert to the city."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.config import DeliveryConfig, HubConfig, OfficeConfig
from hub_shared.db import SessionFactory
from notifier.attempt import DeliveryMetrics, post_delivery
from notifier.breaker import BreakerState, EndpointBreaker, endpoint_failed
from notifier.delivery_store import Claimed, Outcome, claim_due, record_outcomes, release
from notifier.endpoints import load_endpoints, track_health
from notifier.models import Endpoint

__all__ = ["DeliveryMetrics", "DeliveryWorker"]
log = logging.getLogger(__name__)
_LEASE_MARGIN_SECONDS = 30.0
# While POSTs are in flight, steps come at most this often: each step is a transaction,
# and gathering a few finished attempts into it spends the database far less.
_MIN_STEP_SECONDS = 0.05


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
        self.delivered = 0

    def notify(self) -> None:
        """New deliveries were committed: look for work now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        if not self._offices:
            log.info("delivery worker: no office has a webhook_url; nothing to deliver")
            return
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
        self._last_step = asyncio.get_running_loop().time()
        # Outcomes leave `_done` only once committed: a stop in mid-transaction still
        # records them in `_stop_in_flight`.
        outcomes = list(self._done)
        finished = {o.delivery.id for o in outcomes}
        free = self._max - len(self._in_flight) + len(finished)
        if self._next_due is not None and self._next_due <= datetime.now(UTC):
            self._next_due = None
        self._judge(outcomes)
        async with self._sessions() as session, session.begin():
            rows = await load_endpoints(session, self._endpoints)
            next_due, disabled = await self._record(session, outcomes, rows)
            quota = self._quota(finished, rows) if free > 0 else {}
            claimed = await self._claim(session, free, quota) if free > 0 else []
            if len(claimed) >= free:
                quota = {}  # the global limit cut the claim short: no word on backlogs
        del self._done[: len(outcomes)]
        for o in outcomes:
            self._in_flight.pop(o.delivery.id, None)
        self._recorded(outcomes, next_due, disabled)
        probes = await self._claimed(claimed, quota)
        for c in claimed:
            task = asyncio.create_task(self._deliver(c, probe=c.id in probes))
            self._in_flight[c.id] = (c.office_id, task)
        if self._done or self._wake.is_set():
            await self._pace()
            return
        await self._sleep()

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

    def _quota(self, finished: set[int], rows: dict[str, Endpoint]) -> dict[str, int]:
        """How many deliveries each office may have claimed now: room in its share of the
        POSTs in flight, what its breaker allows, none once its endpoint is disabled."""
        busy = Counter(
            office for i, (office, _task) in self._in_flight.items() if i not in finished
        )
        quota: dict[str, int] = {}
        for office in self._offices:
            row = rows.get(office)
            if row is not None and row.disabled_at is not None:
                quota[office] = 0
                continue
            room = self._per_office - busy.get(office, 0)
            allowed = self.breakers[office].quota()
            quota[office] = max(min(room, allowed if allowed is not None else room), 0)
        return quota

    async def _claim(
        self, session: AsyncSession, free: int, quota: dict[str, int]
    ) -> list[Claimed]:
        return await claim_due(
            session,
            quota=quota,
            limit=free,
            lease_seconds=self._config.timeout_seconds + _LEASE_MARGIN_SECONDS,
            owner=self._owner,
        )

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
            wait = min(wait, max((self._next_due - datetime.now(UTC)).total_seconds(), 0.0))
        for breaker in self.breakers.values():
            wake_in = breaker.wake_in()
            if wake_in is not None:
                wait = min(wait, wake_in)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), wait)

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
        if self._metrics is not None:
            self._metrics.observe(outcome)
        self._done.append(outcome)
        self._wake.set()

    async def _stop_in_flight(self) -> None:
        """On stop: cancel POSTs in flight, record what finished, release the rest."""
        tasks = [task for _office, task in self._in_flight.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await asyncio.wait_for(self._flush(), 5)
            async with self._sessions() as session, session.begin():
                await asyncio.wait_for(release(session, self._owner), 5)
        except Exception as exc:  # the leases run out on their own; only a delay is lost
            log.warning("delivery worker: could not release leases on stop: %s", exc)
        self._in_flight.clear()
