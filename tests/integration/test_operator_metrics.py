"""What an operator watches, as the notifier exports it on /metrics against the real broker:
an office's delivery backlog and its oldest pending delivery, open alerts per kind and
county, consumer lag per group and partition, and the oldest unsent outbox row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from hubtools.kafka import LocalKafka
from hubtools.status import last_dead_letters, probe_all, render
from tests.conftest import KAFKA_PARTITIONS
from tests.support.hub import bearer
from tests.support.notifier_harness import (
    ADMIN,
    CITY,
    YANZHOU,
    YANZHOU_SECRET,
    Hub,
    new_alert,
    running_hub,
    until,
)
from tests.support.processes import free_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _config(path: Path, _receiver: str) -> Path:
    """Yanzhou's endpoint refuses connections and its next try is a minute away, so its
    delivery stays pending; the city office pulls over REST."""
    path.write_text(
        f"""
[delivery]
retry_schedule_seconds = [60]
timeout_seconds = 1

[[clients]]
id = "ops"
token = "{ADMIN}"
scopes = ["admin"]
divisions = ["370800"]

[[offices]]
id = "city"
divisions = ["370800"]
token = "{CITY}"

[[offices]]
id = "yanzhou"
divisions = ["370812"]
webhook_url = "http://127.0.0.1:{free_port()}/down"
webhook_secret = "{YANZHOU_SECRET}"
token = "{YANZHOU}"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def hub(kafka: LocalKafka, sqlite_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(kafka, sqlite_url, tmp_path, writer=_config, http=True) as running:
        yield running


async def _scrape(hub: Hub) -> Samples:
    text = (await hub.api.get("/metrics")).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_backlog_open_alerts_and_lag_are_exported(hub: Hub) -> None:
    await hub.publish("alert.raised", new_alert("370812"))
    await hub.publish("alert.raised", new_alert("370812"))
    await hub.publish("alert.raised", new_alert("370811", kind="enterprise_uninsured"))
    yanzhou = ("hub_notifier_delivery_backlog", (("office", "yanzhou"),))
    oldest = ("hub_notifier_delivery_oldest_pending_seconds", (("office", "yanzhou"),))

    async def watched() -> Samples | None:
        samples = await _scrape(hub)
        return samples if samples.get(yanzhou) == 2 and samples.get(oldest, 0) > 0 else None

    samples = await until(watched, what="yanzhou's two pending deliveries on /metrics")
    open_alerts = {
        dict(labels)["county"] + "/" + dict(labels)["kind"]: value
        for (name, labels), value in samples.items()
        if name == "hub_notifier_open_alerts"
    }
    assert open_alerts["370812/project_not_enrolled"] == 2
    assert open_alerts["370811/enterprise_uninsured"] == 1
    assert samples[("hub_outbox_oldest_unsent_seconds", ())] == 0

    # Every delivery attempt is in the audit trail, with what came back.
    async def attempts() -> list[dict[str, str]] | None:
        answer = await hub.api.get(
            "/v1/audit", params={"operation": "deliver webhook"}, headers=bearer(ADMIN)
        )
        items: list[dict[str, str]] = answer.json()["items"]
        return items if len(items) >= 2 else None

    audited = await until(attempts, what="the delivery attempts in the audit trail")
    assert {e["actor"] for e in audited} == {"office:yanzhou"}
    assert {e["outcome"] for e in audited} == {"error"}  # connection refused
    assert all(e["resource"].startswith("alert_id=") for e in audited)

    async def lag_reported() -> Samples | None:
        found = await _scrape(hub)
        lags = {labels: v for (name, labels), v in found.items() if name == "hub_consumer_lag"}
        return found if lags and all(v == 0 for v in lags.values()) else None

    found = await until(lag_reported, what="the alerts consumer's lag, caught up")
    partitions = {
        dict(labels)["partition"]
        for (name, labels), _v in found.items()
        if name == "hub_consumer_lag" and dict(labels)["topic"] == "alerts.v1"
    }
    assert len(partitions) == KAFKA_PARTITIONS  # one sample per partition this replica holds


async def test_hub_status_shows_readiness_backlog_open_alerts_and_dead_letters(
    hub: Hub, kafka: LocalKafka
) -> None:
    await hub.publish("alert.raised", new_alert("370812"))
    await hub.producer.publish_raw(
        "alerts.v1", key=b"status-test", value=b"not an event", headers=[]
    )
    backlog = ("hub_notifier_delivery_backlog", (("office", "yanzhou"),))

    async def pending() -> Samples | None:
        samples = await _scrape(hub)
        dead = samples.get(("hub_events_dead_lettered", (("consumer", "alerts"),)), 0)
        return samples if samples.get(backlog) == 1 and dead >= 1 else None

    await until(pending, what="a pending delivery and a dead letter")
    healths = await probe_all({"notifier": hub.base_url, "incidents": "http://127.0.0.1:9"})
    letters = await last_dead_letters(kafka.bootstrap, 1000)
    console = Console(record=True, width=200)
    render(console, healths, letters)
    shown = console.export_text()
    notifier_row = next(line for line in shown.splitlines() if "│ notifier" in line)
    assert "ready" in notifier_row and "not ready" not in notifier_row
    assert "unreachable" in next(line for line in shown.splitlines() if "│ incidents" in line)
    yanzhou_row = next(line for line in shown.splitlines() if "│ yanzhou" in line)
    assert yanzhou_row.split("│")[2].strip() == "1"
    assert "370812" in shown and "project_not_enrolled" in shown
    assert "dead letter: MalformedEvent" in shown and "alerts (alerts.v1)" in shown
