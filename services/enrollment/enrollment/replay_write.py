"""Replay's writer: chunks of rows inserted in one transaction by a process of its own, so
that reading and judging (one core) go on while rows are bound and written (the other
core). The writer is `python -m enrollment.replay_write`, fed pickled chunks on its stdin (the
database URL first, so no password shows in the process list); the pipe is bounded, so
the reader waits for the writer rather than piling rows up. Chunks travel column by
column: a column pickles in one piece, and binding goes by column anyway. What can be
derived from the rows is derived on the writer's core: the outbox rows of alert events,
and each table's indexes once the reader says its rows are complete (enrollment.replay_load
puts the rows into the database). All or nothing: an error, or the reader going away (end
of input without the end marker), rolls everything back."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import json
import pickle
import queue
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import IO, Any

from sqlalchemy import Index

from enrollment.replay_load import Loader, through_rollback_journal
from enrollment.replay_rows import TABLE_OF_ROW, AlertRow
from enrollment.schema import SCHEMA
from hub_shared.db import is_sqlite, make_engine
from hub_shared.memory import peak_rss_mib

ROW_TYPES = {t.__name__: t for t in TABLE_OF_ROW}

_STOP_SECONDS = 60.0
_LENGTH = 8  # bytes of a frame's length prefix
_PIPE_BYTES = 1 << 20  # Linux's default ceiling for a pipe an unprivileged process widens


class WriterFailed(RuntimeError):
    """The writer process stopped before committing; nothing was written."""


class BulkWriter:
    """`indexes` are built once their table's rows are complete (`complete`), or at the end,
    in the same transaction."""

    def __init__(self, database_url: str, indexes: Sequence[Index] = ()) -> None:
        self._url = database_url
        self._indexes = [(i.table.name, i.name) for i in indexes]  # type: ignore[union-attr]
        self._process: asyncio.subprocess.Process | None = None
        self.rows_written = 0
        self.peak_rss_mib = 0.0  # the writer process's own

    async def __aenter__(self) -> BulkWriter:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "enrollment.replay_write",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self._process.stdin is not None
        _widen(self._process.stdin.transport.get_extra_info("pipe"))
        await self._send((self._url, self._indexes))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process = self._process
        assert process is not None and process.stdin is not None
        try:
            if exc is None:
                await self._send(None)  # the end marker: commit
                outcome = await self._outcome()
                self.rows_written = int(outcome["rows"])
                self.peak_rss_mib = float(outcome["peak_rss_mib"])
        finally:
            process.stdin.close()  # without the end marker, the writer rolls back
            try:
                await asyncio.wait_for(process.wait(), _STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()

    async def put(self, rows: list[Any]) -> None:
        """Send one chunk of rows of one type; raises if the writer has failed."""
        if rows:
            await self.put_columns(type(rows[0]), list(zip(*rows, strict=True)))

    async def put_columns(self, row_type: type[Any], columns: Sequence[Sequence[Any]]) -> None:
        """As put, the chunk given column by column (in the row type's field order)."""
        if columns and columns[0]:
            await self._send(("rows", row_type.__name__, columns))

    async def replace(self, rows: list[Any]) -> None:
        """As put, each row replacing the row of its key written before (in this chunk or an
        earlier one): the last row of a key stays."""
        if rows:
            await self._send(("replace", type(rows[0]).__name__, list(zip(*rows, strict=True))))

    async def put_alerts(
        self, rows: list[AlertRow], events: list[str | None], source: str, at: datetime
    ) -> None:
        """Alert rows and, for each whose event is named, its outbox row (its ce_source
        `source`, its time `at`), which the writer builds: enrollment.replay_outbox."""
        if rows:
            await self._send(("alerts", list(zip(*rows, strict=True)), events, source, at))

    async def complete(self, row_type: type[Any]) -> None:
        """No more rows of `row_type` follow: the writer builds its table's indexes now,
        while the reader goes on, rather than at the end."""
        await self._send(("complete", row_type.__name__))

    async def _send(self, item: object) -> None:
        assert self._process is not None and self._process.stdin is not None
        frame = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._process.stdin.write(len(frame).to_bytes(_LENGTH, "big") + frame)
            await self._process.stdin.drain()  # waits while the pipe is full
        except (BrokenPipeError, ConnectionResetError) as exc:  # the writer has gone: why?
            await self._outcome()
            raise WriterFailed("replay wrote nothing: the writer process stopped") from exc

    async def _outcome(self) -> dict[str, str]:
        """The writer's last word: the rows it committed, or WriterFailed with its error."""
        assert self._process is not None and self._process.stdout is not None
        line = await self._process.stdout.readline()
        outcome: dict[str, str] = json.loads(line) if line else {"error": "the writer died"}
        if "error" in outcome:
            raise WriterFailed(f"replay wrote nothing: {outcome['error']}")
        return outcome


def _widen(pipe: IO[bytes]) -> None:
    """Let the pipe hold 1 MiB rather than Linux's default 64 KiB (kept where that is
    refused, or on a system without the setting): a chunk of a few hundred KiB then goes
    in at once. Through 64 KiB the reader waited while the writer's reading thread, taking
    a piece at a time, won its process's GIL again for each: 0.8 s of a million-event
    replay, 0.4 s with the wider pipe."""
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), setting, _PIPE_BYTES)


def _frames(stream: IO[bytes]) -> Any:
    """Yield each pickled frame of `stream`; EOFError if it ends before the end marker."""
    while True:
        size = stream.read(_LENGTH)
        if len(size) < _LENGTH:
            raise EOFError("the reader went away before the end of input")
        item = pickle.loads(stream.read(int.from_bytes(size, "big")))  # noqa: S301 - our parent
        if item is None:
            return
        yield item


class _Prefetch:
    """Frames read and unpickled by a thread of their own, up to `depth` ahead, so that the
    reader process never waits on the pipe while this one waits on the database."""

    def __init__(self, stream: IO[bytes], depth: int = 8) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            for item in _frames(stream):
                self._queue.put(("item", item))
            self._queue.put(("end", None))
        except BaseException as exc:
            self._queue.put(("error", exc))

    async def next(self) -> Any:
        """The next frame; None at the end marker; raises what stopped the reading."""
        kind, value = await asyncio.to_thread(self._queue.get)
        if kind == "error":
            raise value
        return value


async def _write(frames: _Prefetch) -> int:
    url, indexes = await frames.next()
    engine = make_engine(url)
    if is_sqlite(url):
        through_rollback_journal(engine)
    tables = {t.name: t for t in SCHEMA.tables}
    try:
        async with engine.begin() as conn:
            loader = Loader(conn, [
                next(i for i in tables[table].indexes if i.name == name) for table, name in indexes
            ])  # fmt: skip
            await loader.start()
            while (item := await frames.next()) is not None:
                match item:
                    case ("rows" | "replace" as how, name, columns):
                        await loader.rows(ROW_TYPES[name], columns, replacing=how == "replace")
                    case ("alerts", columns, events, source, at):
                        await loader.alerts(columns, events, source, at)
                    case ("complete", name):
                        await loader.complete(ROW_TYPES[name])
            await loader.finish()
            written = loader.written
    finally:
        await engine.dispose()
    if is_sqlite(url):  # back to WAL, as the service's connections keep it
        engine = make_engine(url)
        async with engine.connect():
            pass
        await engine.dispose()
    return written


def main() -> None:
    """The writer process: every chunk in one transaction, then the indexes, then commit;
    one JSON line on stdout says how it went."""
    # Chunks are unpickled into millions of tuples that hold no cycles: the collector
    # would only rescan them, again and again (7% of this process's time when it ran).
    gc.disable()
    try:
        written = asyncio.run(_write(_Prefetch(sys.stdin.buffer)))
    except BaseException as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        sys.exit(1)
    print(json.dumps({"rows": str(written), "peak_rss_mib": str(peak_rss_mib())}), flush=True)


if __name__ == "__main__":
    main()
