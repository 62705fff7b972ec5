"""Fixtures shared by every test: a real Kafka broker and real databases.

- `kafka`: one Apache Kafka 4.3.1 broker per session (hubtools.kafka.LocalKafka) on free
  ports in a temporary directory, every topic of hub_shared.messaging.topics created. Fault tests
  may `kill()` / `restart()` it; from an async test call those through
  `await asyncio.to_thread(kafka.restart)` so the event loop keeps running meanwhile.
- `postgres`: one throwaway PostgreSQL cluster per session (hubtools.postgres).
- `pg_url` / `sqlite_url`: a fresh, empty database per test.
- `database_url`: parametrized over both backends (test ids `sqlite` and `postgres`).

Nothing here skips: a missing Java, Maven or PostgreSQL makes the test error with a
message that says what to install.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubtools.kafka import LocalKafka
from hubtools.postgres import LocalPostgres

KAFKA_PARTITIONS = 6


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A started single-node broker with the hub's topics; stopped after the session."""
    broker = LocalKafka(tmp_path_factory.mktemp("kafka"), partitions=KAFKA_PARTITIONS)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    """A started PostgreSQL cluster (superuser `hub`, password auth on 127.0.0.1)."""
    cluster = LocalPostgres(tmp_path_factory.mktemp("postgres"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(postgres: LocalPostgres) -> str:
    """`postgresql+asyncpg://…` of a database created for this test only."""
    return postgres.create_database(f"test_{uuid.uuid4().hex[:16]}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """`sqlite+aiosqlite:///…` of a database file that does not exist yet."""
    return f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of either backend; PostgreSQL starts only when a test needs it."""
    fixture = "pg_url" if request.param == "postgres" else "sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url
