"""`hub status`: the hub's health in a terminal, for a single machine. Each service's
readiness and what it exports on /metrics (outbox, consumer lag, dead letters, stuck
consumers), the notifier's delivery backlog per office and open alerts, and the last
errors: failing readiness checks and the newest dead letters."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from hub_shared.messaging.topics import DEADLETTER


@dataclass
class ServiceHealth:
    service: str
    url: str
    reachable: bool = False
    failing: list[str] = field(default_factory=list)  # readiness checks that fail
    samples: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=dict)

    def total(self, metric: str) -> float:
        return sum(value for _labels, value in self.samples.get(metric, []))

    def largest(self, metric: str) -> float:
        return max((value for _labels, value in self.samples.get(metric, [])), default=0.0)

    def by(self, metric: str, label: str) -> dict[str, float]:
        found: dict[str, float] = defaultdict(float)
        for labels, value in self.samples.get(metric, []):
            found[labels.get(label, "")] += value
        return dict(found)


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    consumer: str
    error: str


def parse_metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name].append((dict(sample.labels), sample.value))
    return dict(samples)


async def probe(client: httpx.AsyncClient, service: str, url: str) -> ServiceHealth:
    health = ServiceHealth(service, url)
    try:
        ready = await client.get(f"{url}/readyz")
        metrics = await client.get(f"{url}/metrics")
    except httpx.HTTPError:
        return health
    health.reachable = True
    checks = ready.json().get("checks", {}) if ready.status_code == 200 else {}
    health.failing = [name for name, ok in checks.items() if not ok]
    if ready.status_code != 200:
        health.failing = [str(ready.json().get("detail", "not ready"))]
    health.samples = parse_metrics(metrics.text)
    return health


async def probe_all(targets: dict[str, str], timeout: float = 5.0) -> list[ServiceHealth]:
    async with httpx.AsyncClient(timeout=timeout) as client:
        return list(await asyncio.gather(*(probe(client, s, u) for s, u in targets.items())))


async def last_dead_letters(bootstrap: str, count: int, timeout: float = 10.0) -> list[DeadLetter]:
    """The newest `count` records of deadletter.v1 per partition, newest last."""
    consumer = AIOKafkaConsumer(
        DEADLETTER.name,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[tuple[int, DeadLetter]] = []
    try:
        async with asyncio.timeout(timeout):
            while not consumer.assignment():  # noqa: ASYNC110 - aiokafka has no event for it
                await asyncio.sleep(0.05)
            partitions = sorted(consumer.assignment())
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
            for tp in partitions:
                consumer.seek(tp, max(starts[tp], ends[tp] - count))
            left = {tp for tp in partitions if ends[tp] > starts[tp]}
            while left:
                batch = await consumer.getmany(*left, timeout_ms=500)
                for tp, records in batch.items():
                    for r in records:
                        headers = {k: v.decode(errors="replace") for k, v in r.headers or ()}
                        error = f"{headers.get('x-error-type', '?')}: "
                        error += headers.get("x-error-message", "")[:120]
                        letter = DeadLetter(
                            headers.get("x-original-topic", "?"),
                            headers.get("x-error-consumer", "?"),
                            error,
                        )
                        found.append((r.timestamp, letter))
                    if records and records[-1].offset >= ends[tp] - 1:
                        left.discard(tp)
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()
    return [letter for _t, letter in sorted(found, key=lambda pair: pair[0])[-count:]]


def render(console: Console, healths: list[ServiceHealth], letters: list[DeadLetter]) -> None:
    services = Table(title="Services")
    for column in ("service", "ready", "outbox pending", "oldest unsent", "consumer lag"):
        services.add_column(column)
    for column in ("dead letters", "stuck"):
        services.add_column(column, justify="right")
    for h in healths:
        ready = "[green]ready[/]" if h.reachable and not h.failing else "[red]not ready[/]"
        if not h.reachable:
            services.add_row(h.service, "[red]unreachable[/]", *["-"] * 5)
            continue
        services.add_row(
            h.service,
            ready,
            f"{h.total('hub_outbox_pending'):.0f}",
            f"{h.largest('hub_outbox_oldest_unsent_seconds'):.0f} s",
            ", ".join(f"{g}: {v:.0f}" for g, v in sorted(h.by("hub_consumer_lag", "group").items()))
            or "-",
            f"{h.total('hub_events_dead_lettered'):.0f}",
            f"{h.total('hub_consumer_stuck'):.0f}",
        )
    console.print(services)
    for h in healths:
        backlog = h.by("hub_notifier_delivery_backlog", "office")
        if backlog:
            oldest = h.by("hub_notifier_delivery_oldest_pending_seconds", "office")
            offices = Table(title=f"Deliveries ({h.service})")
            for column in ("office", "backlog", "oldest pending"):
                offices.add_column(column)
            for office, count in sorted(backlog.items()):
                offices.add_row(office, f"{count:.0f}", f"{oldest.get(office, 0):.0f} s")
            console.print(offices)
        open_alerts = h.samples.get("hub_notifier_open_alerts", [])
        if open_alerts:
            alerts = Table(title=f"Open alerts ({h.service})")
            for column in ("county", "kind", "open"):
                alerts.add_column(column)
            for labels, value in sorted(open_alerts, key=lambda s: sorted(s[0].items())):
                alerts.add_row(labels.get("county", ""), labels.get("kind", ""), f"{value:.0f}")
            console.print(alerts)
    errors = Table(title="Last errors")
    for column in ("where", "what"):
        errors.add_column(column)
    for h in healths:
        if not h.reachable:
            errors.add_row(h.service, f"unreachable at {h.url}")
        for check in h.failing:
            errors.add_row(h.service, f"readiness: {check}")
    for letter in letters:
        errors.add_row(f"{letter.consumer} ({letter.topic})", f"dead letter: {letter.error}")
    if not errors.row_count:
        errors.add_row("-", "none")
    console.print(errors)
