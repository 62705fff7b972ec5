"""Per-address attempt limits: sign-in attempts and failed bearer authentication.

A sliding window per client address, in this process's memory (each replica counts its
own; a guesser spread over replicas still meets every replica's limit). At most
`max_addresses` are remembered: the one seen longest ago is forgotten first, so a flood of
addresses costs bounded memory.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from hub_shared.web.errors import RateLimited


class AttemptLimiter:
    def __init__(
        self,
        *,
        limit: int,
        window_seconds: float = 60.0,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        what: str = "attempts",
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._max = max_addresses
        self._clock = clock
        self._what = what
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, address: str) -> deque[float]:
        stamps = self._seen.get(address)
        if stamps is None:
            return deque()
        horizon = self._clock() - self._window
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        return stamps

    def check(self, address: str | None) -> None:
        """RateLimited (429, with Retry-After) once `address` used up its attempts."""
        if address is None:
            return
        stamps = self._recent(address)
        if len(stamps) >= self._limit:
            wait = max(1, math.ceil(stamps[0] + self._window - self._clock()))
            raise RateLimited(
                f"too many {self._what} from this address; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )

    def record(self, address: str | None) -> None:
        if address is None:
            return
        stamps = self._recent(address)
        stamps.append(self._clock())
        self._seen[address] = stamps
        self._seen.move_to_end(address)
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
