"""Bounds on the live streams: how many one office (or client) may hold open, how many the
process serves in all, and how far back a Last-Event-ID may ask to be replayed.

A stream holds a slot from the moment it is accepted until its generator ends (the client
left, the app stopped); a stream refused for want of a slot is 429 with Retry-After. A
Last-Event-ID older than the replay window resumes at the window's start: the client then
reloads the list (GET /v1/alerts) for anything older, as after any long absence.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hub_shared.config import StreamsConfig
from hub_shared.web.errors import RateLimited


class StreamSlots:
    def __init__(self, config: StreamsConfig) -> None:
        self._config = config
        self._open: Counter[str] = Counter()

    @property
    def open(self) -> int:
        return sum(self._open.values())

    def held_by(self, holder: str) -> int:
        return self._open[holder]

    def take(self, holder: str) -> _Slot:
        """A slot for one more stream of `holder`, or RateLimited."""
        if self._open[holder] >= self._config.per_holder:
            raise RateLimited(
                f"{holder} already has {self._config.per_holder} live streams open",
                headers={"Retry-After": "30"},
            )
        if self.open >= self._config.overall:
            raise RateLimited(
                "the service serves as many live streams as it can", headers={"Retry-After": "30"}
            )
        self._open[holder] += 1
        return _Slot(self, holder)

    def _give_back(self, holder: str) -> None:
        self._open[holder] -= 1
        if self._open[holder] <= 0:
            del self._open[holder]

    def earliest_replay(
        self, since: datetime | None, now: datetime | None = None
    ) -> datetime | None:
        """`since` (a Last-Event-ID), no further back than the replay window, never ahead."""
        if since is None:
            return None
        now = now or datetime.now(UTC)
        window = timedelta(seconds=self._config.replay_seconds)
        return min(max(since, now - window), now)


class _Slot:
    def __init__(self, slots: StreamSlots, holder: str) -> None:
        self._slots, self._holder, self._held = slots, holder, True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._give_back(self._holder)


def holding(slot: _Slot, events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    """`events`, giving the slot back when they end, or when the stream is dropped before
    its first event (the generator then never runs: its `finally` would not either)."""

    async def stream() -> AsyncIterator[dict[str, Any]]:
        try:
            async for event in events:
                yield event
        finally:
            slot.release()

    wrapped = stream()
    weakref.finalize(wrapped, slot.release)
    return wrapped
