"""The delivery worker: POSTs due deliveries to office webhooks, many at once, and records
what happened. Deliveries are rows, so a restart resumes them; a crash mid-POST only
means the lease runs out and the same event (same webhook-id) is sent again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.config import DeliveryConfig, HubConfig, OfficeConfig
from hub_shared.db import SessionFactory
from hub_shared.webhooks import sign
from notifier.delivery_store import Claimed, Outcome, claim_due, record_outcomes, release
from notifier.schedule import parse_retry_after

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/cloudevents+json"
_LEASE_MARGIN_SECONDS = 30.0


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = PromCounter(
            "hub_notifier_delivery_attempts",
            "webhook delivery attempts by outcome",
            ["outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "hub_notifier_delivery_seconds", "webhook delivery latency", registry=registry
        )

    def observe(self, o: Outcome) -> None:
        outcome = "ok" if o.ok else "gone" if o.gone else "error" if o.error else "failed"
        self.attempts.labels(outcome).inc()
        self.latency.observe(o.latency_ms / 1000)


class DeliveryWorker:
    """Claims due deliveries and POSTs them concurrently, at most `max_in_flight` at once
    and `per_office` to any one office, so one slow office cannot starve the others."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        hub: HubConfig,
        metrics: DeliveryMetrics | None = None,
        max_in_flight: int = 64,
        per_office: int = 16,
        poll_seconds: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._config: DeliveryConfig = hub.delivery
        self._offices: dict[str, OfficeConfig] = {o.id: o for o in hub.offices if o.webhook_url}
        self._endpoints = {o.id: o.webhook_url or "" for o in self._offices.values()}
        self._metrics = metrics
        self._max = max_in_flight
        self._per_office = per_office
        self._poll = poll_seconds
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._wake = asyncio.Event()
        self._in_flight: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._done: list[Outcome] = []
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._next_due: datetime | None = None
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
            # connections, and small pools keep httpcore's per-request bookkeeping cheap.
            limits = httpx.Limits(
                max_connections=self._per_office, max_keepalive_connections=self._per_office
            )
            timeout = httpx.Timeout(self._config.timeout_seconds)
            for office_id in self._offices:
                self._clients[office_id] = await stack.enter_async_context(
                    httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)
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
        # Outcomes leave `_done` only once committed: a stop in mid-transaction still
        # records them in `_stop_in_flight`.
        outcomes = list(self._done)
        finished = {o.delivery.id for o in outcomes}
        free = self._max - len(self._in_flight) + len(finished)
        if self._next_due is not None and self._next_due <= datetime.now(UTC):
            self._next_due = None
        async with self._sessions() as session, session.begin():
            next_due = await record_outcomes(
                session, outcomes, delivery=self._config, endpoints=self._endpoints, rng=self._rng
            )
            claimed = await self._claim(session, free, finished) if free > 0 else []
        del self._done[: len(outcomes)]
        for o in outcomes:
            self._in_flight.pop(o.delivery.id, None)
        self._recorded(outcomes, next_due)
        for c in claimed:
            self._in_flight[c.id] = (c.office_id, asyncio.create_task(self._deliver(c)))
        if self._done or self._wake.is_set():
            return
        wait = self._poll
        if self._next_due is not None:
            wait = min(wait, max((self._next_due - datetime.now(UTC)).total_seconds(), 0.0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), wait)

    async def _claim(self, session: AsyncSession, free: int, finished: set[int]) -> list[Claimed]:
        busy = Counter(
            office for i, (office, _task) in self._in_flight.items() if i not in finished
        )
        return await claim_due(
            session,
            endpoints=self._endpoints,
            busy=busy,
            per_office=self._per_office,
            limit=free,
            lease_seconds=self._config.timeout_seconds + _LEASE_MARGIN_SECONDS,
            owner=self._owner,
        )

    async def _flush(self) -> None:
        """Record finished attempts, all in one transaction."""
        outcomes, self._done = self._done, []
        if not outcomes:
            return
        async with self._sessions() as session, session.begin():
            next_due = await record_outcomes(
                session, outcomes, delivery=self._config, endpoints=self._endpoints, rng=self._rng
            )
        for o in outcomes:
            self._in_flight.pop(o.delivery.id, None)
        self._recorded(outcomes, next_due)

    def _recorded(self, outcomes: list[Outcome], next_due: datetime | None) -> None:
        for o in outcomes:
            if o.ok:
                self.delivered += 1
            elif o.gone:
                log.warning(
                    "office %s: webhook answered 410 Gone; endpoint disabled", o.delivery.office_id
                )
        if next_due is not None:
            self._next_due = min(self._next_due or next_due, next_due)

    async def _deliver(self, claimed: Claimed) -> None:
        outcome = await self._attempt(self._clients[claimed.office_id], claimed)
        if self._metrics is not None:
            self._metrics.observe(outcome)
        self._done.append(outcome)
        self._wake.set()

    async def _attempt(self, client: httpx.AsyncClient, claimed: Claimed) -> Outcome:
        office = self._offices[claimed.office_id]
        url = office.webhook_url or ""
        secret = office.webhook_secret.get_secret_value() if office.webhook_secret else ""
        body = claimed.body.encode()
        headers = {"content-type": CONTENT_TYPE, **sign([secret], claimed.event_id, body)}
        attempted_at = datetime.now(UTC)
        started = time.perf_counter()

        def done(
            status_code: int | None = None,
            error: str | None = None,
            retry_after: float | None = None,
        ) -> Outcome:
            latency = (time.perf_counter() - started) * 1000
            return Outcome(claimed, attempted_at, latency, status_code, error, retry_after)

        try:
            async with asyncio.timeout(self._config.timeout_seconds):
                response = await client.post(url, content=body, headers=headers)
        except (TimeoutError, httpx.TimeoutException):
            return done(error=f"no answer within {self._config.timeout_seconds:g} s")
        except httpx.HTTPError as exc:
            # The URL may carry credentials in its query: keep it out of the log.
            return done(error=f"{type(exc).__name__}: {str(exc).replace(url, '<url>')}"[:500])
        except Exception as exc:
            log.exception("office %s: delivery %s failed unexpectedly", office.id, claimed.id)
            return done(error=f"{type(exc).__name__}"[:500])
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return done(status_code=response.status_code, retry_after=retry_after)

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
