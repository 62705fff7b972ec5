"""`hub replay enrollment`: rebuild the matcher's state from the topics into a fresh database."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from hub_shared.config import ServiceSettings

console = Console()


def replay(
    service: Annotated[
        str, typer.Argument(help="only `enrollment` keeps derived state to rebuild")
    ],
    database_url: Annotated[
        str, typer.Option(help="a fresh database for the rebuilt state (SQLite or PostgreSQL URL)")
    ],
    batch: Annotated[int, typer.Option(help="records per fetch from the broker")] = 2000,
) -> None:
    """Read alerts.v1 and every input topic from offset 0 and rebuild the matcher's state.

    Nothing is sent to offices: alerts already published are loaded as they were, so the
    rebuilt matcher raises none of them again. Point the service at the new database
    (HUB_ENROLLMENT_DATABASE_URL) once it is done.
    """
    if service != "enrollment":
        console.print(f"[red]{service}: nothing to replay[/] (only enrollment keeps matcher state)")
        raise typer.Exit(2)
    from enrollment.replay import replay as run_replay  # the service's own rebuild logic

    settings = ServiceSettings.load("enrollment").model_copy(update={"database_url": database_url})
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()) as bar:
        task = bar.add_task("reading alerts.v1", total=None)

        def progress(phase: str, count: int) -> None:
            bar.update(task, description=f"{phase}: {count:,} read")

        try:
            report = asyncio.run(run_replay(settings, batch=batch, progress=progress))
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    console.print(
        f"alerts loaded {report.alerts_loaded:,}; events read {report.events_read:,}, "
        f"applied {report.events_applied:,} in {report.seconds:.1f} s "
        f"({report.events_per_second:,.0f}/s)"
    )
    console.print("; ".join(f"{name} {seconds:.1f} s" for name, seconds in report.phases.items()))
    if report.unreadable:
        console.print(
            f"[yellow]{report.unreadable} unreadable record(s) skipped[/] "
            "(the live consumers dead-lettered them)"
        )
    if report.superseded:
        console.print(
            f"[yellow]{report.superseded} older duplicate open alert(s) on alerts.v1 "
            "closed as superseded[/]"
        )
    if report.staged:
        console.print(
            f"[yellow]{len(report.staged)} new event(s) staged[/] (published when "
            "the service runs on this database):"
        )
        for item in report.staged[:20]:
            console.print(f"  {item.name} {item.kind} {item.subject_key}")
    else:
        console.print("nothing new to publish: the rebuilt state agrees with what was sent")
