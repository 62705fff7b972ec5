"""Claimed deliveries waiting for a POST slot of their office, so that a slot freed by a
successful POST is reused at once instead of at the worker's next step (a step is a
transaction, paced to batch outcomes; an office with a long backlog otherwise waited for
it after each POST, and its 32 slots sat idle most of the time).

Only offices whose breaker is closed keep a queue, of at most `per_office` deliveries;
the worker gives the queue back (releases the leases) when the breaker opens or the
endpoint is disabled. A queued delivery holds its lease; one not started within
`start_within` seconds of its claim is dropped from the queue (its lease runs out and
it is claimed again), so a POST never starts too late to end within its lease."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable

from notifier.delivery.store import Claimed


class OfficeQueues:
    def __init__(
        self, per_office: int, start_within: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._per_office = per_office
        self._start_within = start_within
        self._clock = clock
        self._queues: dict[str, deque[tuple[float, Claimed]]] = {}
        self.running: Counter[str] = Counter()  # POSTs in progress, per office

    def room(self, office: str) -> int:
        """How many more deliveries the office's queue takes."""
        return self._per_office - len(self._queues.get(office, ()))

    def slots(self, office: str) -> int:
        """Free POST slots of the office."""
        return self._per_office - self.running[office]

    def add(self, claimed: Claimed) -> None:
        deadline = self._clock() + self._start_within
        self._queues.setdefault(claimed.office_id, deque()).append((deadline, claimed))

    def pop(self, office: str) -> Claimed | None:
        """The office's oldest queued delivery still in time, or None."""
        queue = self._queues.get(office)
        now = self._clock()
        while queue:
            deadline, claimed = queue.popleft()
            if now < deadline:
                return claimed
        return None

    def give_back(self, keep: Callable[[str], bool]) -> list[int]:
        """Empty the queues of the offices `keep` refuses; their ids, to release."""
        ids: list[int] = []
        for office in [o for o in self._queues if not keep(o)]:
            ids.extend(c.id for _deadline, c in self._queues.pop(office))
        return ids

    def offices(self) -> list[str]:
        return [office for office, queue in self._queues.items() if queue]

    def clear(self) -> None:
        self._queues.clear()
        self.running.clear()
