"""Replay's writer: chunks of rows inserted in one transaction by a process of its own, so
that reading and judging (one core) go on while rows are bound and written (the other
core). The writer is `python -m enrollment.replay_write`, fed pickled chunks on its stdin (the
database URL first, so no password shows in the process list); the pipe is bounded, so
the reader waits for the writer rather than piling rows up. Chunks travel column by
column: a column pickles in one piece, and binding goes by column anyway. What can be
derived from the rows is derived here, on the writer's core: the outbox rows of alert
events, and each table's indexes once the reader says its rows are complete. All or
nothing: an error, or the reader going away (end of input without the end marker), rolls
everything back."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import pickle
import queue
import sqlite3
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import IO, Any

from sqlalchemy import Index, Insert, Table, event, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateIndex

from enrollment.replay_outbox import outbox_rows
from enrollment.replay_rows import TABLE_OF_ROW, AlertRow, OutboxRow
from enrollment.schema import SCHEMA
from hub_shared.db import is_sqlite, make_engine
from hub_shared.memory import peak_rss_mib

ROW_TYPES = {t.__name__: t for t in TABLE_OF_ROW}

_MISSING = object()
_STOP_SECONDS = 60.0
_LENGTH = 8  # bytes of a frame's length prefix


@dataclass(frozen=True)
class _Insert:
    """An INSERT in the driver's own positional form (or a COPY, on asyncpg), or with
    `replacing` one that replaces the row of the same key, and how to bind rows to it:
    columns in the statement's order, SQLAlchemy's bind processors (its SQLite date and
    time format, say) applied to the columns that have one, without the per-row parameter
    dictionaries its executemany builds. Rebuilt rows share a few timestamps, so processed
    values are remembered (equal aware times bind alike: the processor takes both to UTC)."""

    sql: str
    table: str
    names: tuple[str, ...]  # the columns, in parameter order
    order: tuple[int, ...]  # the row's field for each parameter
    processors: Mapping[int, Callable[[Any], Any]]  # by parameter
    memo: dict[int, dict[Any, Any]]
    replacing: bool

    @classmethod
    def of(cls, dialect: Dialect, row_type: type[Any], replacing: bool) -> _Insert | None:
        table = TABLE_OF_ROW[row_type]
        fields: list[str] = list(row_type._fields)
        statement = _statement(dialect, table, replacing)
        compiled = statement.compile(dialect=dialect, column_keys=fields)
        if not compiled.positiontup:
            return None  # a named paramstyle: let SQLAlchemy bind it
        keys = compiled.positiontup
        processors = {
            j: process
            for j, key in enumerate(keys)
            if (process := table.c[key].type.dialect_impl(dialect).bind_processor(dialect))
        }
        order = tuple(fields.index(key) for key in keys)
        memo: dict[int, dict[Any, Any]] = {j: {} for j in processors}
        return cls(str(compiled), table.name, tuple(keys), order, processors, memo, replacing)

    def params(self, columns: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The driver's parameter rows for a chunk given column by column."""
        ordered = [columns[i] for i in self.order]
        for j, process in self.processors.items():
            ordered[j] = self._processed(j, process, ordered[j])
        return list(zip(*ordered, strict=True))

    def _processed(self, j: int, process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
        memo = self.memo[j]
        if len(memo) > 100_000:
            memo.clear()
        out = []
        for value in values:
            found = memo.get(value, _MISSING)
            if found is _MISSING:
                found = memo[value] = process(value)
            out.append(found)
        return out


class WriterFailed(RuntimeError):
    """The writer process stopped before committing; nothing was written."""


class BulkWriter:
    """`indexes` are created last, in the same transaction: building an index over loaded
    rows is several times quicker than maintaining it row by row."""

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
        _through_rollback_journal(engine)
    inserts: Inserts = {}
    written = 0
    pending: list[tuple[str, str]] = list(indexes)  # (table, index) not built yet
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "sqlite":  # one big transaction: a 64 MiB page cache
                await conn.exec_driver_sql("PRAGMA cache_size=-65536")
            while (item := await frames.next()) is not None:
                match item:
                    case ("rows" | "replace" as how, name, columns):
                        await _insert(conn, inserts, ROW_TYPES[name], columns, how == "replace")
                        written += len(columns[0])
                    case ("alerts", columns, events, source, at):
                        written += await _insert_alerts(conn, inserts, columns, events, source, at)
                    case ("complete", name):
                        table = TABLE_OF_ROW[ROW_TYPES[name]].name
                        await _create_indexes(conn, [i for i in pending if i[0] == table])
                        pending = [i for i in pending if i[0] != table]
            await _create_indexes(conn, pending)
    finally:
        await engine.dispose()
    if is_sqlite(url):  # back to WAL, as the service's connections keep it
        engine = make_engine(url)
        async with engine.connect():
            pass
        await engine.dispose()
    return written


async def _insert_alerts(
    conn: AsyncConnection,
    inserts: Inserts,
    columns: list[Sequence[Any]],
    events: list[str | None],
    source: str,
    at: datetime,
) -> int:
    """The alerts, then the outbox rows of the events they stage; how many rows in all."""
    await _insert(conn, inserts, AlertRow, columns)
    alerts = [AlertRow._make(r) for r in zip(*columns, strict=True)]
    outbox = outbox_rows(alerts, events, source, at)
    if outbox:
        await _insert(conn, inserts, OutboxRow, list(zip(*outbox, strict=True)))
    return len(columns[0]) + len(outbox)


async def _create_indexes(conn: AsyncConnection, indexes: list[tuple[str, str]]) -> None:
    tables = {t.name: t for t in SCHEMA.tables}
    for table, index in indexes:
        found = next(i for i in tables[table].indexes if i.name == index)
        await conn.execute(CreateIndex(found, if_not_exists=True))


def _through_rollback_journal(engine: AsyncEngine) -> None:
    """Load a fresh SQLite database through a rollback journal, which keeps only the pages
    that existed before (next to none), rather than through the WAL, which takes every
    page twice: into the log, then into the database at the checkpoint. (The switch needs
    the only connection to the file; while another is open it stays WAL, only slower.)"""

    @event.listens_for(engine.sync_engine, "connect")
    def _journal(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        with contextlib.suppress(sqlite3.OperationalError):  # "database is locked"
            cursor.execute("PRAGMA journal_mode=DELETE")
        cursor.close()


def _statement(dialect: Dialect, table: Table, replacing: bool) -> Insert:
    """INSERT, or with `replacing` INSERT .. ON CONFLICT (primary key) DO UPDATE every other
    column (SQLite and PostgreSQL alike)."""
    if not replacing:
        return insert(table)
    upsert = postgresql_insert if dialect.name == "postgresql" else sqlite_insert
    statement = upsert(table)
    others = {c.name: statement.excluded[c.name] for c in table.columns if not c.primary_key}
    replacing_insert: Insert = statement.on_conflict_do_update(
        index_elements=list(table.primary_key.columns), set_=others
    )
    return replacing_insert


Inserts = dict[tuple[type[Any], bool], "_Insert | None"]


async def _insert(
    conn: AsyncConnection,
    inserts: Inserts,
    row_type: type[Any],
    columns: Sequence[Sequence[Any]],
    replacing: bool = False,
) -> None:
    if (row_type, replacing) not in inserts:
        inserts[row_type, replacing] = _Insert.of(conn.dialect, row_type, replacing)
    statement = inserts[row_type, replacing]
    if statement is None:
        rows = zip(*columns, strict=True)
        params = [dict(zip(row_type._fields, r, strict=True)) for r in rows]
        await conn.execute(_statement(conn.dialect, TABLE_OF_ROW[row_type], replacing), params)
    elif conn.dialect.driver == "asyncpg" and not replacing:  # COPY: a fraction of the
        # server's INSERT work
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            statement.table, records=statement.params(columns), columns=statement.names
        )
    else:
        await conn.exec_driver_sql(statement.sql, statement.params(columns))


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
