"""`make soak` (`python -m hubtools.soak`): a fault soak, reported, never asserted (issue 16).

A seeded mix of events (signed permit webhooks, enrollments, accidents, diagnoses) goes at
a steady rate through the four services' HTTP APIs while the broker and each service are
killed with SIGKILL at seeded moments and restarted after a short pause. The driver retries
what a dead service refused, with the same idempotency key, and counts a request accepted
only once answered 2xx. Afterwards everything is counted from outside the services:

- each accepted request's event on its topic, by domain id (lost, duplicated);
- each expected alert on alerts.v1 (computed from what was accepted: a permit, accident or
  diagnosis whose enrollment was not accepted before it), raised exactly once;
- each expected alert's delivery at a local office receiver that checks the signatures.

The broker, services and receiver are processes of their own in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import shutil
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from hubtools.bench_backlog import outbox_pending
from hubtools.bench_e2e import start_receiver
from hubtools.bench_procs import Hub, Service, write_config
from hubtools.bench_requests import OFFICE_SECRET
from hubtools.kafka import LocalKafka
from hubtools.run import SERVICE_MODULES
from hubtools.soak_io import (
    CLIENTS_TOML,
    IN_FLIGHT,
    Driver,
    Kills,
    kill_loop,
    kill_moments,
    read_topic,
)
from hubtools.soak_plan import (
    KINDS,
    TOPIC_OF,
    Planned,
    TopicRecord,
    alert_tally,
    delivery_tally,
    expected_alerts,
    plan,
    topic_tally,
)

RAISED = "cn.gov.jining.hub.alert.raised"
console = Console() if Console().is_terminal else Console(width=160)


@dataclass(frozen=True)
class SoakOptions:
    events: int = 10_000
    rate: float = 25.0
    broker_kills: int = 10
    service_kills: int = 10
    seed: int = 16
    pause_min: float = 0.5
    pause_max: float = 3.0
    grace_seconds: float = 2.0
    settle_timeout: float = 900.0


def _arguments() -> tuple[SoakOptions, Path, Path]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="events per second")
    parser.add_argument("--broker-kills", type=int, default=10)
    parser.add_argument("--service-kills", type=int, default=10, help="for each service")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--settle-timeout", type=float, default=900.0)
    parser.add_argument("--out", type=Path, default=Path("var/soak.json"))
    parser.add_argument("--work", type=Path, default=Path("var/soak"),
                        help="emptied first; keeps the logs of the run")  # fmt: skip
    args = parser.parse_args()
    options = SoakOptions(events=args.events, rate=args.rate, broker_kills=args.broker_kills,
                          service_kills=args.service_kills, seed=args.seed,
                          settle_timeout=args.settle_timeout)  # fmt: skip
    return options, args.out, args.work


def _restart_service(hub: Hub, name: str) -> None:
    hub.restart(name)
    hub.services[name].wait_ready("/healthz", timeout=180)


def _rng(seed: int, *parts: str) -> random.Random:
    return random.Random("-".join([str(seed), *parts]))  # noqa: S311 - fault timing, not secrets


async def _drive_and_kill(
    hub: Hub, kafka: LocalKafka, planned: list[Planned], options: SoakOptions
) -> tuple[Driver, dict[str, Kills], float]:
    seconds = options.events / options.rate
    pause = (options.pause_min, options.pause_max)
    seed = options.seed
    kills: dict[str, Kills] = {"kafka": Kills("kafka")}
    moments = kill_moments(options.broker_kills, seconds, _rng(seed, "kafka"))
    loops = [
        kill_loop(kills["kafka"], moments, kafka.kill, partial(kafka.start, timeout=300),
                  _rng(seed, "kafka", "pause"), pause)
    ]  # fmt: skip
    for name in SERVICE_MODULES:
        kills[name] = Kills(name)
        moments = kill_moments(options.service_kills, seconds, _rng(seed, name))
        loops.append(
            kill_loop(kills[name], moments, partial(hub.kill, name),
                      partial(_restart_service, hub, name), _rng(seed, name, "pause"), pause)
        )  # fmt: skip
    urls = {name: s.url for name, s in hub.services.items()}
    limits = httpx.Limits(max_connections=4 * IN_FLIGHT, max_keepalive_connections=4 * IN_FLIGHT)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        driver = Driver(http, urls)
        killer = asyncio.gather(*loops)
        progress = asyncio.create_task(_report_progress(driver, kills))
        sent_s = await driver.run(planned, options.rate)
        await killer
        progress.cancel()
    return driver, kills, sent_s


async def _report_progress(driver: Driver, kills: dict[str, Kills]) -> None:
    while True:
        await asyncio.sleep(30)
        sent = sum(s.sent for s in driver.stats.values())
        killed = ", ".join(f"{n} {len(k.at)}" for n, k in kills.items())
        console.print(f"[dim]sent {sent:,}, accepted {len(driver.accepted):,}; kills: {killed}[/]")


async def _read_back(bootstrap: str) -> dict[str, list[TopicRecord]]:
    topics = [*TOPIC_OF.values(), "alerts.v1"]
    return {t: await read_topic(bootstrap, t) for t in topics}


def _deliveries(receiver: Service) -> list[list[Any]]:
    with httpx.Client(timeout=60) as client:
        records: list[list[Any]] = client.get(receiver.url + "/stats").json()
    return records


def _count(
    planned: list[Planned], driver: Driver, topics: dict[str, list[TopicRecord]],
    deliveries: list[list[Any]],
) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    for kind in KINDS:
        ids = [p.id for p in planned if p.kind == kind and p.id in driver.accepted]
        out[kind] = topic_tally(ids, topics[TOPIC_OF[kind]]).summary()
    expected = expected_alerts(planned, driver.accepted)
    alerts = topics["alerts.v1"]
    out["alerts"] = alert_tally(expected, alerts).summary()
    out["alerts"]["resolved"] = sum(r.ce_type.endswith("alert.resolved") for r in alerts)
    first: dict[str, str] = {}
    for r in alerts:
        if r.ce_type.endswith("alert.raised") and expected.get(r.subject_id) == r.alert_kind:
            first.setdefault(r.subject_id, r.alert_id)
    raised = [d for d in deliveries if d[2] == RAISED]
    out["deliveries"] = delivery_tally(first, [(d[4], d[1]) for d in raised]).summary()
    out["deliveries"]["bad_signatures"] = sum(d[5] is False for d in deliveries)
    out["deliveries"]["all"] = len(deliveries)
    return out


def _complete(counts: dict[str, Any]) -> bool:
    parts = [*KINDS, "alerts", "deliveries"]
    return all(counts[p]["found"] == counts[p]["expected"] for p in parts)


def _pending(hub: Hub) -> float:
    with httpx.Client(timeout=10) as client:
        total = 0.0
        for service in hub.services.values():
            try:
                total += outbox_pending(client, service)
            except httpx.HTTPError:
                total += 1  # not answering: not settled
        return total


def _settle(
    hub: Hub, kafka: LocalKafka, receiver: Service, planned: list[Planned], driver: Driver,
    timeout: float,
) -> tuple[dict[str, Any], float]:  # fmt: skip
    """Count until everything expected is found, every outbox is empty and the counts did
    not change for three polls (5 s apart), or until `timeout`."""
    began, last, quiet = time.monotonic(), "", 0
    while True:
        topics = asyncio.run(_read_back(kafka.bootstrap))
        counts = _count(planned, driver, topics, _deliveries(receiver))
        key = json.dumps(counts, sort_keys=True)
        quiet = quiet + 1 if key == last and _pending(hub) == 0 else 0
        last = key
        waited = time.monotonic() - began
        console.print(f"[dim]settling {waited:.0f} s: {_progress(counts)}[/]")
        if (quiet >= 3 and _complete(counts)) or waited > timeout:
            return counts, waited
        time.sleep(5)


def _progress(counts: dict[str, Any]) -> str:
    parts = [*KINDS, "alerts", "deliveries"]
    return ", ".join(f"{p} {counts[p]['found']}/{counts[p]['expected']}" for p in parts)


def run(options: SoakOptions, work: Path) -> dict[str, Any]:
    planned = plan(options.events, options.seed)
    receiver = start_receiver(work, secret=OFFICE_SECRET)
    kafka = LocalKafka(work / "kafka", partitions=6)
    hub: Hub | None = None
    began = time.monotonic()
    try:
        kafka.start(timeout=300)
        config = write_config(
            work / "soak.toml", grace_seconds=options.grace_seconds,
            office_webhook=f"{receiver.url}/alerts", more=CLIENTS_TOML,
        )  # fmt: skip
        hub = Hub(config, kafka.bootstrap, work / "hub", group_prefix=f"soak-{options.seed}")
        hub.start(*SERVICE_MODULES)
        console.print(f"sending {len(planned):,} events at {options.rate}/s with kills ...")
        driver, kills, sent_s = asyncio.run(_drive_and_kill(hub, kafka, planned, options))
        for service in hub.services.values():
            service.wait_ready(timeout=300)
        counts, settle_s = _settle(hub, kafka, receiver, planned, driver,
                                   options.settle_timeout)  # fmt: skip
        return {
            "options": asdict(options),
            "sent": {k: asdict(s) for k, s in driver.stats.items()},
            "kills": {n: asdict(k) for n, k in kills.items()},
            "counts": counts,
            "sending_s": round(sent_s, 1),
            "settle_s": round(settle_s, 1),
            "duration_s": round(time.monotonic() - began, 1),
        }
    finally:
        if hub is not None:
            hub.stop()
        kafka.stop()
        receiver.stop()


def render(figures: dict[str, Any]) -> Table:
    o = figures["options"]
    table = Table(title=f"make soak: {o['events']:,} events at {o['rate']}/s, seed {o['seed']}")
    for column in ("what", "sent", "accepted", "expected", "found", "lost", "duplicated",
                   "copies", "unexpected"):  # fmt: skip
        table.add_column(column, justify="right" if column != "what" else "left")
    counts = figures["counts"]
    for part in [*KINDS, "alerts", "deliveries"]:
        c = counts[part]
        sent = figures["sent"].get(part, {})
        table.add_row(part, str(sent.get("sent", "")), str(sent.get("accepted", "")),
                      str(c["expected"]), str(c["found"]), str(c["lost"]), str(c["duplicated"]),
                      str(c["redelivered_copies"]), str(c["unexpected"]))  # fmt: skip
    kills = ", ".join(f"{n} {len(k['at'])}" for n, k in figures["kills"].items())
    table.caption = (
        f"kills: {kills}; duration {figures['duration_s']:.0f} s (sending "
        f"{figures['sending_s']:.0f} s, settling {figures['settle_s']:.0f} s); copies = the "
        "same event id again (at least once, absorbed by inboxes / receivers' webhook-id)"
    )
    return table


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    options, out, work = _arguments()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    figures = run(options, work.resolve())
    console.print(render(figures))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    console.print(f"figures written to {out}")


if __name__ == "__main__":
    main()
