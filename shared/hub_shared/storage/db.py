"""Database engines: SQLite (embedded default) or PostgreSQL, both async."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> AsyncEngine:
    """An engine with the settings each backend needs to be safe under concurrency."""
    if is_sqlite(url):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: SQLite has one writer at a time, so writers (requests,
        # consumers, the outbox relay, schedulers) queue in the pool and are woken the moment
        # the connection is free, instead of in SQLite's busy handler, which sleeps up to
        # 100 ms between tries and can starve a writer under load.
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0, pool_timeout=60
        )
        _make_sqlite_transactions_immediate(engine)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _make_sqlite_transactions_immediate(engine: AsyncEngine) -> None:
    # SQLite upgrades a deferred read transaction to a write lock without waiting, which
    # fails with "database is locked" under concurrency; BEGIN IMMEDIATE takes the write lock
    # up front, so writers queue on busy_timeout instead (SQLAlchemy's documented recipe).
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessions(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def table_of(model: type[SQLModel]) -> Table:
    """The Table of a SQLModel table class."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


async def create_tables(engine: AsyncEngine, tables: Sequence[Table]) -> None:
    """Create the service's own tables (and only those) if they do not exist."""
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all, tables=list(tables))


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
