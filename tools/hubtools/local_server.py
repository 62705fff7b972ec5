"""What the local broker (hubtools.kafka) and database cluster (hubtools.postgres) share:
`start()` and `stop()`, and `with` for the pair."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class LocalServer(ABC):
    """A server process this Python process runs; `with server:` starts it and stops it."""

    @abstractmethod
    def start(self) -> None:
        """Start the server; returns once it answers."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the server; nothing of it keeps running."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
