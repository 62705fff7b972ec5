"""How replay's writer process puts rows into its database, all in one transaction.

SQLite takes them by INSERT (a replacing row by INSERT .. ON CONFLICT DO UPDATE) bound
straight to the driver; PostgreSQL by COPY, replacing rows into a temporary table first
(COPY cannot resolve conflicts), merged into theirs once the table is complete, the last
row of each key winning. Each table's indexes are built once its rows are complete:
building an index over loaded rows is several times quicker than maintaining it row by row.
On PostgreSQL that goes for primary keys and unique constraints too, dropped at the start
of the transaction and added back as each table is complete (SQLite cannot add a primary
key to a table).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Index, Insert, Table, column, event, insert, inspect, select
from sqlalchemy import table as table_clause
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateIndex

from enrollment.replay_outbox import outbox_rows
from enrollment.replay_rows import TABLE_OF_ROW, AlertRow, OutboxRow

_MISSING = object()
_STAGED_ORDER = "replay_seq"  # the arrival order of rows in a PostgreSQL staging table


@dataclass(frozen=True)
class _Insert:
    """An INSERT in the driver's own positional form (or a COPY, on asyncpg), or with
    `replacing` one that replaces the row of the same key, and how to bind rows to it:
    columns in the statement's order, SQLAlchemy's bind processors (its SQLite date and
    time format, say) applied to the columns that have one, without the per-row parameter
    dictionaries its executemany builds. Rebuilt rows share a few timestamps, so processed
    values are remembered (equal aware times bind alike: the processor takes both to UTC).
    The columns in `nulls` are left out, to take their default, NULL: binding a NULL cost
    the SQLite driver a third of a microsecond, and a million events bind millions."""

    sql: str
    table: str
    names: tuple[str, ...]  # the columns, in parameter order
    order: tuple[int, ...]  # the row's field for each parameter
    processors: Mapping[int, Callable[[Any], Any]]  # by parameter
    memo: dict[int, dict[Any, Any]]

    @classmethod
    def of(
        cls, dialect: Dialect, row_type: type[Any], replacing: bool, nulls: tuple[int, ...] = ()
    ) -> _Insert | None:
        table = TABLE_OF_ROW[row_type]
        fields: list[str] = list(row_type._fields)
        statement = _statement(dialect, table, replacing)
        bound = [f for i, f in enumerate(fields) if i not in nulls]
        compiled = statement.compile(dialect=dialect, column_keys=bound)
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
        return cls(str(compiled), table.name, tuple(keys), order, processors, memo)

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


def _nullable(row_type: type[Any]) -> tuple[int, ...]:
    """The row's fields whose column takes NULL when left out of an INSERT: nullable, with
    no default of its own."""
    table = TABLE_OF_ROW[row_type]
    return tuple(
        i
        for i, name in enumerate(row_type._fields)
        if (c := table.c[name]).nullable and c.default is None and c.server_default is None
    )


_NULLABLE = {row_type: _nullable(row_type) for row_type in TABLE_OF_ROW}


def _statement(dialect: Dialect, table: Table, replacing: bool) -> Insert:
    """INSERT, or with `replacing` one that replaces the row of the same key."""
    if not replacing:
        return insert(table)
    upsert = postgresql_insert if dialect.name == "postgresql" else sqlite_insert
    return _replacing(upsert(table), table)


def _replacing(statement: Any, table: Table) -> Insert:
    """`statement` (SQLite's or PostgreSQL's INSERT) .. ON CONFLICT (primary key) DO UPDATE
    every other column."""
    others = {c.name: statement.excluded[c.name] for c in table.columns if not c.primary_key}
    replacing_insert: Insert = statement.on_conflict_do_update(
        index_elements=list(table.primary_key.columns), set_=others
    )
    return replacing_insert


@dataclass(frozen=True)
class _Key:
    """A primary key or unique constraint, as it is added back."""

    name: str
    kind: str  # "PRIMARY KEY" or "UNIQUE"
    columns: tuple[str, ...]


def _keys_of(connection: Connection) -> dict[Table, list[_Key]]:
    """The primary key and unique constraints of each loaded table that exists."""
    found = inspect(connection)
    keys: dict[Table, list[_Key]] = {}
    for table in TABLE_OF_ROW.values():
        if not found.has_table(table.name):
            continue
        primary = found.get_pk_constraint(table.name)
        named = [(primary["name"], "PRIMARY KEY", primary["constrained_columns"])]
        named += [(u["name"], "UNIQUE", u["column_names"])
                  for u in found.get_unique_constraints(table.name)]  # fmt: skip
        if found_keys := [_Key(name, kind, tuple(cols)) for name, kind, cols in named if name]:
            keys[table] = found_keys
    return keys


def _staging_name(table: Table) -> str:
    return f"replay_staged_{table.name}"


class Loader:
    """Rows into the database of `conn`, in its transaction; `written` counts them."""

    def __init__(self, conn: AsyncConnection, indexes: Sequence[Index]) -> None:
        self.conn = conn
        self.written = 0
        self._pending = list(indexes)  # not built yet
        self._inserts: dict[tuple[type[Any], bool, tuple[int, ...]], _Insert | None] = {}
        self._staged: set[Table] = set()  # PostgreSQL tables with replacing rows to merge
        self._keys: dict[Table, list[_Key]] = {}  # PostgreSQL's, dropped until complete
        self._copy = conn.dialect.driver == "asyncpg"  # COPY: a fraction of INSERT's work

    async def start(self) -> None:
        if self.conn.dialect.name == "sqlite":  # one big transaction: a 64 MiB page cache
            await self.conn.exec_driver_sql("PRAGMA cache_size=-65536")
        elif self._copy:
            await self._drop_keys()

    async def rows(
        self, row_type: type[Any], columns: Sequence[Sequence[Any]], replacing: bool = False
    ) -> None:
        """A chunk of rows given column by column; with `replacing`, each replaces the row of
        its key written before it (through `rows(.., replacing=True)` or not)."""
        nulls = tuple(i for i in _NULLABLE[row_type] if columns[i].count(None) == len(columns[i]))
        key = (row_type, replacing, nulls)
        if key not in self._inserts:
            self._inserts[key] = _Insert.of(self.conn.dialect, row_type, replacing, nulls)
        statement = self._inserts[key]
        table = TABLE_OF_ROW[row_type]
        if statement is None:
            params = [
                dict(zip(row_type._fields, r, strict=True)) for r in zip(*columns, strict=True)
            ]
            await self.conn.execute(_statement(self.conn.dialect, table, replacing), params)
        elif self._copy and replacing:  # COPY resolves no conflict: staged, merged later
            await self._stage(table, statement, columns)
        elif self._copy:
            await self._copy_records(statement.table, statement, columns)
        else:
            await self.conn.exec_driver_sql(statement.sql, statement.params(columns))
        self.written += len(columns[0])

    async def alerts(
        self, columns: Sequence[Sequence[Any]], events: list[str | None], source: str, at: datetime
    ) -> None:
        """Alert rows, then the outbox rows of the events they stage (replay_outbox)."""
        await self.rows(AlertRow, columns)
        alerts = [AlertRow._make(r) for r in zip(*columns, strict=True)]
        outbox = outbox_rows(alerts, events, source, at)
        if outbox:
            await self.rows(OutboxRow, list(zip(*outbox, strict=True)))

    async def complete(self, row_type: type[Any]) -> None:
        """No more rows of `row_type` come: merge what is staged for its table, build its
        indexes."""
        table = TABLE_OF_ROW[row_type]
        await self._add_keys(table)
        await self._merge(table)
        await self._create_indexes([i for i in self._pending if i.table is table])

    async def finish(self) -> None:
        for table in list(self._keys):
            await self._add_keys(table)
        for table in list(self._staged):
            await self._merge(table)
        await self._create_indexes(list(self._pending))

    async def _drop_keys(self) -> None:
        """PostgreSQL: the primary keys and unique constraints of the tables loaded, dropped
        until their rows are in (the COPY of a million inbox rows, their event ids in no
        order, took 5.5 s of the server's time with the key kept up row by row; 2.6 s with
        the key built afterwards, the build included; the outbox's unique event ids are as
        random). Nothing refers to them, and the transaction holds the tables' only rows: a
        duplicate still fails it, when its constraint is added back."""
        self._keys = await self.conn.run_sync(_keys_of)
        q = self.conn.dialect.identifier_preparer.quote
        for table, keys in self._keys.items():
            for key in keys:
                await self.conn.exec_driver_sql(
                    f"ALTER TABLE {q(table.name)} DROP CONSTRAINT {q(key.name)}"
                )

    async def _add_keys(self, table: Table) -> None:
        q = self.conn.dialect.identifier_preparer.quote
        for key in self._keys.pop(table, ()):
            columns = ", ".join(map(q, key.columns))
            await self.conn.exec_driver_sql(
                f"ALTER TABLE {q(table.name)} ADD CONSTRAINT {q(key.name)} {key.kind} ({columns})"
            )

    async def _copy_records(
        self, table: str, statement: _Insert, columns: Sequence[Sequence[Any]]
    ) -> None:
        raw = await self.conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table, records=statement.params(columns), columns=statement.names
        )

    async def _stage(
        self, table: Table, statement: _Insert, columns: Sequence[Sequence[Any]]
    ) -> None:
        """Into the table's staging table (created on first use), numbered as they come."""
        if table not in self._staged:
            q = self.conn.dialect.identifier_preparer.quote
            await self.conn.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {q(_staging_name(table))} "
                f"(LIKE {q(table.name)}, {_STAGED_ORDER} bigserial)"
            )
            self._staged.add(table)
        await self._copy_records(_staging_name(table), statement, columns)

    async def _merge(self, table: Table) -> None:
        """The last staged row of each key into the table, replacing any row it holds."""
        if table not in self._staged:
            return
        self._staged.discard(table)
        names = [c.name for c in table.columns]
        staged = table_clause(_staging_name(table), *map(column, [*names, _STAGED_ORDER]))
        keys = [staged.c[c.name] for c in table.primary_key.columns]
        latest = (
            select(*(staged.c[name] for name in names))
            .ext(distinct_on(*keys))
            .order_by(*keys, staged.c[_STAGED_ORDER].desc())
        )
        await self.conn.execute(
            _replacing(postgresql_insert(table).from_select(names, latest), table)
        )
        q = self.conn.dialect.identifier_preparer.quote
        await self.conn.exec_driver_sql(f"DROP TABLE {q(_staging_name(table))}")

    async def _create_indexes(self, indexes: list[Index]) -> None:
        for index in indexes:
            await self.conn.execute(CreateIndex(index, if_not_exists=True))
            self._pending.remove(index)


def through_rollback_journal(engine: AsyncEngine) -> None:
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
