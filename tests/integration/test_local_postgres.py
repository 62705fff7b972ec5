"""The test PostgreSQL is real: reachable through SQLAlchemy + asyncpg, one database per test."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hubtools.postgres import LocalPostgres


async def _scalar(url: str, sql: str) -> object:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


async def test_a_fresh_database_answers_through_sqlalchemy_and_asyncpg(pg_url: str) -> None:
    assert pg_url.startswith("postgresql+asyncpg://hub:")

    version = await _scalar(pg_url, "SELECT version()")

    assert isinstance(version, str)
    assert version.startswith("PostgreSQL ")


async def test_two_databases_do_not_see_each_other(postgres: LocalPostgres) -> None:
    first = postgres.create_database(f"iso_{uuid.uuid4().hex[:12]}")
    second = postgres.create_database(f"iso_{uuid.uuid4().hex[:12]}")
    engine = create_async_engine(first)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE permits (permit_no text PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO permits VALUES ('370811202103150101')"))
    finally:
        await engine.dispose()

    assert await _scalar(first, "SELECT count(*) FROM permits") == 1
    assert await _scalar(second, "SELECT to_regclass('public.permits') IS NULL") is True


async def test_database_url_gives_a_working_empty_database(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE outbox (id integer PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO outbox VALUES (1), (2)"))
            count = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    finally:
        await engine.dispose()

    assert count == 2
