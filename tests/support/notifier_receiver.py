"""A tiny office webhook receiver for the notifier tests: raw asyncio HTTP/1.1 on
127.0.0.1, keep-alive, answers planned per (path, alert id), records every request."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

Planned = int | str | tuple[int, dict[str, str]]  # status, "hang", or status with headers
HANG_SECONDS = 3.0  # longer than the test config's timeout_seconds


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # loop time of arrival
    status: int | None = None  # what we answered; None when we hung

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


@dataclass
class Receiver:
    requests: list[Request] = field(default_factory=list)
    base_url: str = ""
    _plans: dict[tuple[str, str], list[Planned]] = field(default_factory=dict)
    _outages: dict[str, Planned] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _busy: set[asyncio.Task[None]] = field(default_factory=set)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    def plan(self, path: str, alert_id: str, *answers: Planned) -> None:
        """Answer the next requests for this alert at this path so; 200 afterwards."""
        self._plans.setdefault((path, alert_id), []).extend(answers)

    def fail_all(self, path: str, answer: Planned = 503) -> None:
        """Answer every request at `path` so (the office's system is down) until `recover`."""
        self._outages[path] = answer

    def recover(self, path: str) -> None:
        self._outages.pop(path, None)

    def at(self, path: str, alert_ids: set[str]) -> list[Request]:
        """Requests at `path` about any of `alert_ids`, in arrival order."""
        return [r for r in self.requests if r.path == path and r.event.get("subject") in alert_ids]

    async def for_alert_count(self, alert_ids: set[str], path: str, count: int) -> bool:
        return len(self.at(path, alert_ids)) >= count

    def for_alert_now(self, alert_id: str, path: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if r.event.get("subject") == alert_id and (path is None or r.path == path)
        ]

    async def for_alert(
        self, alert_id: str, path: str | None = None, at_least: int = 1
    ) -> list[Request] | None:
        found = self.for_alert_now(alert_id, path)
        return found if len(found) >= at_least else None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Close every connection (connection handlers then end on their own)."""
        self._closing.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*self._busy, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._writers.add(writer)
        self._busy.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            self._busy.discard(task)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line = await reader.readline()
            if not line:
                return
            _method, path, _version = line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = header.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = Request(path, headers, body, asyncio.get_running_loop().time())
            self.requests.append(request)
            answer = self._answer(request)
            if answer == "hang":
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HANG_SECONDS):
                        await self._closing.wait()
                return
            status, extra = answer if isinstance(answer, tuple) else (int(answer), {})
            request.status = status
            writer.write(_response(status, extra.items()))
            await writer.drain()

    def _answer(self, request: Request) -> Planned:
        if request.path in self._outages:
            return self._outages[request.path]
        try:
            subject = str(request.event.get("subject"))
        except ValueError:
            return 400
        queue = self._plans.get((request.path, subject))
        return queue.pop(0) if queue else 200


def _response(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "content-length: 0"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
