"""`hub run`'s process supervisor: like an init system, a service that exits is started
again with back-off; the others and the broker keep running; only Ctrl-C (SIGINT) or
SIGTERM stops them all.

honcho's Manager stops every process when one exits; this keeps its process handling,
printing and colours and replaces its loop.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from honcho.manager import KILL_WAIT, SIGNALS, Manager


@dataclass(frozen=True)
class Backoff:
    """Seconds before restart number n (1, 2, 4 … up to `longest`); a service that ran
    `settled` seconds before it exited counts as healthy again and restarts after `first`."""

    first: float = 1.0
    longest: float = 30.0
    settled: float = 60.0

    def delay(self, restarts: int) -> float:
        return float(min(self.longest, self.first * 2 ** max(restarts - 1, 0)))


class Supervisor(Manager):  # type: ignore[misc]  # honcho ships no type hints
    """Runs the added processes until SIGINT/SIGTERM, restarting any that exits.

    `on_started` is called once every child has been forked the first time (the readiness
    watcher is a thread: starting it after the forks keeps children from inheriting it).
    """

    def __init__(
        self,
        on_started: Callable[[], None] = lambda: None,
        backoff: Backoff = Backoff(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._on_started = on_started
        self._backoff = backoff
        self._now = clock
        self._due: dict[str, float] = {}  # service -> when to start it again
        self._restarts: dict[str, int] = {}
        self._started_at: dict[str, float] = {}
        self.restarted: dict[str, int] = {}

    def _start(self) -> None:
        for name in self._processes:
            self._spawn(name)
        self._on_started()

    def _spawn(self, name: str) -> None:
        entry: dict[str, Any] = self._processes[name]
        entry.pop("returncode", None)
        entry.pop("pid", None)
        entry["process"] = multiprocessing.Process(
            name=name, target=entry["obj"].run, args=(self.events, True)
        )
        entry["process"].start()
        self._started_at[name] = self._now()

    def loop(self) -> None:
        def _terminate(signum: int, _frame: object) -> None:
            self._system_print(f"{SIGNALS[signum]['name']} received: stopping every service\n")
            self.returncode = SIGNALS[signum]["rc"]
            self._due.clear()
            self.terminate()

        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        self._start()
        stopping_since: float | None = None
        while True:
            try:
                message = self.events.get(timeout=0.1)
            except queue.Empty:
                message = None
            if message is not None:
                self._handle(message)
            if self._terminating:
                if self._all_stopped():
                    break
                stopping_since = stopping_since or self._now()
                if self._now() - stopping_since > KILL_WAIT:
                    self.kill()
                continue
            for name, due in list(self._due.items()):
                if self._now() >= due:
                    del self._due[name]
                    self.restarted[name] = self.restarted.get(name, 0) + 1
                    self._system_print(f"restarting {name} (restart {self.restarted[name]})\n")
                    self._spawn(name)

    def _handle(self, message: Any) -> None:
        if message.type == "line":
            self._printer.write(message)
        elif message.type == "start":
            self._processes[message.name]["pid"] = message.data["pid"]
            self._system_print(f"{message.name} started (pid={message.data['pid']})\n")
        elif message.type == "stop":
            self._stopped(message.name, message.data["returncode"])

    def _stopped(self, name: str, returncode: int) -> None:
        self._processes[name]["returncode"] = returncode
        if self._terminating:
            self._system_print(f"{name} stopped (rc={returncode})\n")
            return
        ran = self._now() - self._started_at.get(name, self._now())
        restarts = 1 if ran >= self._backoff.settled else self._restarts.get(name, 0) + 1
        self._restarts[name] = restarts
        delay = self._backoff.delay(restarts)
        self._due[name] = self._now() + delay
        self._system_print(
            f"{name} exited (rc={returncode}) after {ran:.1f} s; the others keep running; "
            f"restarting it in {delay:.0f} s\n"
        )


__all__ = ["Backoff", "Supervisor"]
