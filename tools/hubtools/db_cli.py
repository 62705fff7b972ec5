"""`hub db`: each service's schema migrations (alembic).

- `hub db upgrade SERVICE [--database-url URL]`: bring a database to the newest revision
  (services do it themselves when they start; this is for a deploy step or a check).
- `hub db current SERVICE [--database-url URL]`: the revision a database is at.
- `hub db revision SERVICE -m MESSAGE`: write the next revision from the difference between
  the models and the revisions so far (autogenerate against a scratch SQLite database).
"""

from __future__ import annotations

import asyncio
import importlib
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from rich.console import Console
from sqlalchemy import Connection

from hub_shared.config import ServiceName, ServiceSettings
from hub_shared.storage.db import make_engine
from hub_shared.storage.migrations import Schema, current_revision, migrate

app = typer.Typer(help="Schema migrations of each service (alembic).", no_args_is_help=True)
console = Console()
PACKAGES: dict[ServiceName, str] = {
    "permit-ingest": "permit_ingest",
    "enrollment": "enrollment",
    "incidents": "incidents",
    "notifier": "notifier",
}
Service = Annotated[str, typer.Argument(help="permit-ingest, enrollment, incidents or notifier")]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="defaults to the service's configured database")
]


def schema_of(service: str) -> Schema:
    package = PACKAGES.get(service)  # type: ignore[call-overload]
    if package is None:
        console.print(f"[red]{service}: no such service[/] ({', '.join(PACKAGES)})")
        raise typer.Exit(2)
    schema: Schema = importlib.import_module(f"{package}.tables").SCHEMA
    return schema


def _url(service: str, database_url: str | None) -> str:
    if database_url:
        return database_url
    name = next(n for n in PACKAGES if n == service)
    return ServiceSettings.load(name).database_url


@app.command()
def upgrade(service: Service, database_url: DatabaseUrl = None) -> None:
    """Bring the service's database to the newest revision."""
    at = asyncio.run(_revision_of(schema_of(service), _url(service, database_url), upgrade=True))
    console.print(f"{service}: at revision {at}")


@app.command()
def current(service: Service, database_url: DatabaseUrl = None) -> None:
    """Print the revision the service's database is at (none: not migrated yet)."""
    at = asyncio.run(_revision_of(schema_of(service), _url(service, database_url), upgrade=False))
    console.print(f"{service}: at revision {at or 'none'}")


async def _revision_of(schema: Schema, url: str, *, upgrade: bool) -> str | None:
    engine = make_engine(url)
    try:
        if upgrade:
            await migrate(engine, schema)
        async with engine.connect() as conn:
            return await conn.run_sync(current_revision, schema)
    finally:
        await engine.dispose()


@app.command()
def revision(service: Service, message: Annotated[str, typer.Option("-m", "--message")]) -> None:
    """Write the next revision of SERVICE's migrations from its models."""
    schema = schema_of(service)
    versions = schema.migrations / "versions"
    rev_id = f"{len(list(versions.glob('[0-9][0-9][0-9][0-9]_*.py'))) + 1:04d}"

    def write(connection: Connection) -> None:
        command.revision(
            schema.config(connection), message=message, autogenerate=True, rev_id=rev_id
        )

    async def run() -> None:
        with tempfile.TemporaryDirectory(prefix="hub-revision-") as tmp:
            engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'scratch.db'}")
            try:
                await migrate(engine, schema)  # the revisions so far
                async with engine.begin() as conn:
                    await conn.run_sync(write)
            finally:
                await engine.dispose()

    asyncio.run(run())
    console.print(f"{service}: wrote revision {rev_id} in {versions}")
