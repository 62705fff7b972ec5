"""`hub audit verify SERVICE`: walk a service's audit chain and the heads it published on
audit.v1, and name the first entry that was edited, deleted or reordered (exit code 1)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from hub_shared.audit.chain import Finding
from hub_shared.audit.trail import audit_chain
from hub_shared.audit.verification import published_heads, verify_service
from hub_shared.config import ServiceSettings
from hub_shared.messaging.kafka import connection_options
from hub_shared.storage.db import make_engine
from hubtools.db_cli import PACKAGES, DatabaseUrl, Service

app = typer.Typer(help="The exchange audit trail of each service.", no_args_is_help=True)
console = Console()


async def check(
    chain: str, *, database_url: str, bootstrap: str | None, options: dict[str, object]
) -> tuple[Finding | None, int, int]:
    """Verify a service's chain (audit_chain), against its published heads when
    `bootstrap` is set."""
    heads = await published_heads(bootstrap, chain, options=options) if bootstrap else []
    engine = make_engine(database_url)
    try:
        return await verify_service(engine, heads=heads)
    finally:
        await engine.dispose()


@app.command()
def verify(
    service: Service,
    database_url: DatabaseUrl = None,
    heads: Annotated[
        bool, typer.Option(help="also hold the chain to the heads published on audit.v1")
    ] = True,
) -> None:
    """Walk the chain; exit 1 naming the first edited, deleted or reordered entry."""
    if service not in PACKAGES:
        console.print(f"[red]{service}: no such service[/] ({', '.join(PACKAGES)})")
        raise typer.Exit(2)
    settings = ServiceSettings.load(next(n for n in PACKAGES if n == service))
    finding, walked, checked = asyncio.run(
        check(
            audit_chain(settings),
            database_url=database_url or settings.database_url,
            bootstrap=settings.kafka_bootstrap if heads else None,
            options=connection_options(settings.kafka_tls),
        )
    )
    if finding is None:
        console.print(f"{service}: audit chain intact ({walked} entries, {checked} heads)")
        return
    console.print(
        f"[red]{service}: entry {finding.seq} {finding.fault}[/]: {finding.detail} "
        f"({walked} entries, {checked} heads)"
    )
    raise typer.Exit(1)
