"""A circuit breaker per office endpoint, so that an office whose system is down is not
hammered, and its backlog is drained at a bounded rate once it answers again.

closed --(threshold consecutive failures)--> open --(open period over)--> half-open:
one probe --(success)--> draining --(backlog empty)--> closed; a failed probe opens it
again for twice as long (up to a cap). Draining hands out claims from a token bucket
(aiolimiter's leaky bucket) at `drain_rate_per_second`. The state is in the memory of the
one worker that delivers to the office (notifier.delivery.leases), so its bounds hold
however many replicas run; when another worker takes the office over (a restart, a
rebalance), the endpoint starts closed there and the first failures open it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from aiolimiter import AsyncLimiter

from hub_shared.config import DeliveryConfig
from notifier.delivery.schedule import MAX_RETRY_AFTER_SECONDS


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    DRAINING = "draining"


def endpoint_failed(status_code: int | None) -> bool:
    """Does this answer say the endpoint itself is unwell? No answer, 5xx, 408 and 429 do;
    other 4xx are a verdict on one delivery from an endpoint that is up."""
    if status_code is None:
        return True
    return status_code >= 500 or status_code in (408, 429)


class EndpointBreaker:
    def __init__(self, config: DeliveryConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.state = BreakerState.CLOSED
        self._threshold = config.breaker_failure_threshold
        self._open_seconds = config.breaker_open_seconds
        self._max_open_seconds = config.breaker_max_open_seconds
        self._rate = config.drain_rate_per_second
        self._bucket = AsyncLimiter(max(self._rate, 1.0), max(self._rate, 1.0) / self._rate)
        self._clock = clock
        self._failures = 0  # consecutive endpoint failures
        self._reopened = 0  # failed probes in a row: the open period doubles with each
        self._open_until = 0.0
        self._probing = False

    def quota(self) -> int | None:
        """How many deliveries may be claimed for this endpoint now; None: no limit."""
        if self.state is BreakerState.OPEN and self._clock() >= self._open_until:
            self.state, self._probing = BreakerState.HALF_OPEN, False
        if self.state is BreakerState.CLOSED:
            return None
        if self.state is BreakerState.OPEN:
            return 0
        if self.state is BreakerState.HALF_OPEN:
            return 0 if self._probing else 1
        tokens = 0
        while tokens < self._bucket.max_rate and self._bucket.has_capacity(tokens + 1):
            tokens += 1
        return tokens

    async def claimed(self, count: int, quota: int | None) -> bool:
        """`count` deliveries were claimed under `quota`; True when the one claimed is a
        probe. Draining ends once a claim finds less backlog than it was allowed."""
        if self.state is BreakerState.HALF_OPEN and count:
            self._probing = True
            return True
        if self.state is BreakerState.DRAINING:
            if count:
                await self._bucket.acquire(count)
            if quota is not None and count < quota:
                self.state = BreakerState.CLOSED
        return False

    def record(self, *, failed: bool, probe: bool, retry_after: float | None = None) -> None:
        """An attempt's outcome (`failed`: as `endpoint_failed` judges it). A Retry-After
        on a failure keeps the breaker open at least that long once it opens."""
        if not failed:
            self._failures = 0
            if self.state in (BreakerState.OPEN, BreakerState.HALF_OPEN):
                # A probe, or a late answer from before the breaker opened: it is back.
                self.state, self._reopened, self._probing = BreakerState.DRAINING, 0, False
            return
        self._failures += 1
        if probe:
            self._reopened += 1
            self._open(retry_after)
        elif self._failures >= self._threshold and self.state in (
            BreakerState.CLOSED,
            BreakerState.DRAINING,
        ):
            self._open(retry_after)

    def _open(self, retry_after: float | None) -> None:
        period = min(self._open_seconds * 2 ** max(self._reopened - 1, 0), self._max_open_seconds)
        if retry_after is not None:
            period = max(period, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        self.state, self._probing = BreakerState.OPEN, False
        self._open_until = self._clock() + period

    def wake_in(self) -> float | None:
        """Seconds until this breaker may allow more claims, if it is holding any back."""
        if self.state is BreakerState.OPEN:
            return max(self._open_until - self._clock(), 0.0)
        if self.state is BreakerState.DRAINING:
            return 1.0 / self._rate
        return None
