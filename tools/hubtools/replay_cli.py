"""`hub replay enrollment`: rebuild the matcher's state from the topics into a fresh database."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from hub_shared.config import ServiceSettings

console = Console()


def replay(
    service: Annotated[
        str, typer.Argument(help="only `enrollment` keeps derived state to rebuild")
    ],
    database_url: Annotated[
        str, typer.Option(help="a fresh database for the rebuilt state (SQLite or PostgreSQL URL)")
    ],
    batch: Annotated[
        int | None, typer.Option(help="records applied as one set (default: matching.batch_size)")
    ] = None,
) -> None:
    """Run the matcher's consumer from offset 0 into a fresh database, then stop.

    Nothing is sent to offices: alerts already published on alerts.v1 are stored first, so
    the rebuilt matcher raises none of them again. Stop the enrollment service while this
    runs, then point it at the new database (HUB_ENROLLMENT_DATABASE_URL).
    """
    if service != "enrollment":
        console.print(f"[red]{service}: nothing to replay[/] (only enrollment keeps matcher state)")
        raise typer.Exit(2)
    from enrollment.matching.rebuild import rebuild  # the service's own consumer

    settings = ServiceSettings.load("enrollment").model_copy(update={"database_url": database_url})
    with console.status("reading alerts.v1, then every input topic from offset 0"):
        try:
            report = asyncio.run(rebuild(settings, batch=batch))
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    console.print(
        f"alerts loaded {report.alerts_loaded:,}; events applied {report.events_applied:,} "
        f"in {report.seconds:.1f} s ({report.events_per_second:,.0f}/s)"
    )
    if report.dead_lettered or report.unreadable_alerts:
        console.print(
            f"[yellow]{report.dead_lettered} input record(s) dead-lettered, "
            f"{report.unreadable_alerts} unreadable alert record(s) skipped[/]"
        )
    if report.superseded:
        console.print(
            f"[yellow]{report.superseded} older duplicate open alert(s) on alerts.v1 "
            "closed as superseded[/]"
        )
    if report.staged:
        console.print(
            f"[yellow]{report.staged} new alert event(s) staged[/] (published when the "
            "service runs on this database)"
        )
    else:
        console.print("nothing new to publish: the rebuilt state agrees with what was sent")
