"""Load on raw HTTP/1.1 keep-alive connections (asyncio streams, no client library):

- `open_loop`: request i is due at start + i/rate; latency runs from that due time, so a
  server that falls behind is charged for the wait (no coordinated omission);
- `closed_loop`: a fixed number of connections, each sending its next request as soon as
  the previous answer arrived (the fallback when `wrk` is missing).
Every loop is bounded in requests and in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from hubtools.bench_requests import Signed, http_request

DRAIN_SECONDS = 60.0  # open loop: answers later than this after the last send are not counted


@dataclass
class LoadResult:
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests only
    accepted: list[int] = field(default_factory=list)  # indexes of the 2xx answers
    wall_start: float = 0.0  # wall-clock due time of request 0 (open loop)
    seconds: float = 0.0
    errors: int = 0

    def ok(self, *codes: int) -> int:
        return sum(n for status, n in self.statuses.items() if status in codes)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, raw: bytes) -> int:
        """Send one request, read its whole answer; the status code."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "transfer-encoding":
                raise RuntimeError("chunked answers are not expected from these endpoints")
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def open_loop(
    host: str,
    port: int,
    requests: Sequence[Signed],
    rate: float,
    max_connections: int = 256,
    drain_seconds: float = DRAIN_SECONDS,
) -> LoadResult:
    """Send `requests` at `rate` per second on a pool of keep-alive connections; answers
    later than `drain_seconds` after the last send are not counted."""
    result = LoadResult()
    idle: list[_Connection] = []
    opened = 0
    slots = asyncio.Semaphore(max_connections)
    raws = [http_request(r, f"{host}:{port}") for r in requests]
    loop = asyncio.get_running_loop()
    start, result.wall_start = loop.time() + 0.05, time.time() + 0.05

    async def one(i: int, due: float) -> None:
        nonlocal opened
        async with slots:
            conn = idle.pop() if idle else None
            try:
                if conn is None:
                    conn = await _Connection.open(host, port)
                    opened += 1
                status = await conn.exchange(raws[i])
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                result.errors += 1
                if conn is not None:
                    conn.close()
                return
            result.latencies.append(loop.time() - due)
            if status < 300:
                result.accepted.append(i)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            idle.append(conn)

    tasks: list[asyncio.Task[None]] = []
    for i in range(len(raws)):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
        result.sent += 1
    await asyncio.wait(tasks, timeout=drain_seconds)
    for task in tasks:
        task.cancel()
    result.seconds = loop.time() - start
    for conn in idle:
        conn.close()
    return result


async def closed_loop(
    host: str, port: int, requests: Sequence[Signed], connections: int, seconds: float
) -> LoadResult:
    """`connections` workers send the requests in turn until they run out or time is up."""
    result = LoadResult()
    raws = iter([http_request(r, f"{host}:{port}") for r in requests])
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + seconds

    async def worker() -> None:
        conn = await _Connection.open(host, port)
        try:
            while loop.time() < deadline and (raw := next(raws, None)) is not None:
                began = loop.time()
                result.sent += 1
                status = await conn.exchange(raw)
                result.latencies.append(loop.time() - began)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            conn.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    done, pending = await asyncio.wait(workers, timeout=seconds + 30)
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception() is not None:
            result.errors += 1
    result.seconds = loop.time() - start
    with contextlib.suppress(Exception):
        await asyncio.gather(*pending, return_exceptions=True)
    return result
