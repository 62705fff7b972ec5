"""The `hub` command: the front door behind `make run` and `make kafka-jars`.

- `hub kafka fetch`: Kafka 4.3.1 jars from Maven Central into tools/kafka/libs.
- `hub kafka start`: a local broker in the foreground (Ctrl-C stops it).
- `hub run`: the local broker (unless HUB_KAFKA_BOOTSTRAP is set) and the four services.
- `hub post-permit FILE`: sign a permit as an approval system would and post it.
- `hub receiver`: an office's webhook receiver that verifies and prints alerts.
- `hub replay enrollment --database-url URL`: rebuild the matcher's state from the topics.
- `hub db upgrade|current|revision SERVICE`: each service's schema migrations.
- `hub audit verify SERVICE`: the service's audit chain against its published heads.
- `hub status`: each service's readiness, lag, backlogs and the last errors.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from hub_shared.config import EnvSettings, HubConfig, load_hub_config
from hubtools import audit_cli, db_cli, demo, replay_cli, status
from hubtools.kafka import fetch_jars
from hubtools.kafka_admin import port_open, run_sync, split_bootstrap
from hubtools.run import LOCAL_HOSTS, RunError, local_broker, run_hub

app = typer.Typer(
    name="hub",
    help="Work-injury prevention data hub: local Kafka and the services.",
    no_args_is_help=True,
    add_completion=False,
)
kafka_app = typer.Typer(
    help="The local Apache Kafka broker (jars from Maven Central).", no_args_is_help=True
)
app.add_typer(kafka_app, name="kafka")
app.add_typer(db_cli.app, name="db")
app.add_typer(audit_cli.app, name="audit")
app.command("post-permit")(demo.post_permit)
app.command("receiver")(demo.receiver)
app.command("replay")(replay_cli.replay)
console = Console()


def _load() -> tuple[EnvSettings, HubConfig]:
    """Environment and TOML file, or a clear message and exit code 2."""
    env = EnvSettings()
    try:
        return env, load_hub_config(env.config)
    except ValueError as exc:
        console.print(f"[red]configuration:[/] {exc} (HUB_CONFIG={env.config})")
        raise typer.Exit(2) from exc


@kafka_app.command("fetch")
def kafka_fetch() -> None:
    """Fetch the Kafka jars (instant when already fetched)."""
    began = time.monotonic()
    with console.status("fetching Apache Kafka 4.3.1 from Maven Central"):
        libs = fetch_jars()
    count = len(list(libs.glob("*.jar")))
    console.print(f"Kafka jars: {count} in {libs} ({time.monotonic() - began:.1f} s)")


@kafka_app.command("start")
def kafka_start() -> None:
    """Run the local broker in the foreground, data in $HUB_DATA_DIR/kafka."""
    env, hub = _load()
    host, port = split_bootstrap(hub.kafka.bootstrap)
    if host not in LOCAL_HOSTS:
        console.print(f"[red]kafka.bootstrap = {hub.kafka.bootstrap} is not local[/]")
        raise typer.Exit(2)
    if run_sync(lambda: port_open(f"127.0.0.1:{port}")):
        console.print(f"[red]127.0.0.1:{port} is already in use[/] (a broker running?)")
        raise typer.Exit(1)
    broker = local_broker(env, port, hub.kafka.partitions)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    began = time.monotonic()
    try:
        try:
            with console.status(f"starting Kafka on {broker.bootstrap}"):
                broker.start()
        except RuntimeError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
        console.print(
            f"Kafka on [bold]{broker.bootstrap}[/] ready in {time.monotonic() - began:.1f} s, "
            f"data in {broker.data_dir}, log {broker.log_file}. Ctrl-C stops it."
        )
        while broker.running and not stop.wait(1.0):
            pass
        if not broker.running:
            console.print(f"[red]Kafka exited[/]\n{broker.log_tail()}")
            raise typer.Exit(1)
    finally:
        console.print("stopping Kafka")
        broker.stop()


@app.command("run")
def run(
    service_command: Annotated[
        list[str] | None,
        typer.Option(
            "--service-command",
            hidden=True,
            help="NAME=COMMAND: run COMMAND instead of `python -m <module>` (for tests).",
        ),
    ] = None,
) -> None:
    """Start Kafka (unless HUB_KAFKA_BOOTSTRAP is set) and the four services."""
    env, hub = _load()
    commands: dict[str, str] = {}
    for item in service_command or []:
        name, sep, command = item.partition("=")
        if not sep or not command:
            raise typer.BadParameter(
                f"{item!r} is not NAME=COMMAND", param_hint="--service-command"
            )
        commands[name.strip()] = command
    try:
        code = run_hub(env, hub, commands, console)
    except (RunError, RuntimeError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    raise typer.Exit(code)


@app.command("status")
def show_status(
    dead_letters: Annotated[int, typer.Option(help="how many recent dead letters to show")] = 5,
) -> None:
    """The local hub's health: services, lag, backlogs and the last errors."""
    env, hub = _load()
    host = "127.0.0.1" if env.host in {"0.0.0.0", "::"} else env.host
    targets = {
        name: f"http://{host}:{getattr(env, name.replace('-', '_') + '_port')}"
        for name in ("permit-ingest", "enrollment", "incidents", "notifier")
    }
    healths = run_sync(lambda: status.probe_all(targets))
    bootstrap = env.kafka_bootstrap or hub.kafka.bootstrap
    letters: list[status.DeadLetter] = []
    if dead_letters > 0 and run_sync(lambda: port_open(bootstrap)):
        letters = run_sync(lambda: status.last_dead_letters(bootstrap, dead_letters))
    status.render(console, healths, letters)
    if not all(h.reachable and not h.failing for h in healths):
        raise typer.Exit(1)
