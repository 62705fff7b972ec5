"""A notifier killed (SIGKILL) in the middle of retries: after a restart it resumes the
pending delivery with the same webhook-id, picks up the alerts published while it was
down, and loses and doubles nothing."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.topics import event_type
from hubtools.kafka import LocalKafka
from tests.support.hub import bearer
from tests.support.notifier_harness import AGENCY, new_alert, until, write_config
from tests.support.notifier_receiver import Receiver
from tests.support.processes import Services, free_port


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture
async def producer(kafka: LocalKafka) -> AsyncIterator[Producer]:
    p = Producer(kafka.bootstrap, client_id="notifier-kill-test")
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def publish(producer: Producer, alert: dict[str, Any]) -> None:
    envelope = Envelope(
        type=event_type("alert.raised"),
        source="/hub/enrollment",
        data=alert,
        key=alert["alert_id"],
        subject=alert["alert_id"],
        id=str(uuid.uuid4()),
    )
    await producer.publish_many([("alerts.v1", envelope)])


async def test_a_killed_notifier_resumes_its_retries_and_loses_nothing(
    kafka: LocalKafka, sqlite_url: str, tmp_path: Path, receiver: Receiver, producer: Producer
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HUB_CONFIG": str(write_config(tmp_path / "hub.toml", receiver.base_url)),
        "HUB_DATA_DIR": str(tmp_path),
        "HUB_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "HUB_NOTIFIER_PORT": str(port),
        "HUB_NOTIFIER_DATABASE_URL": sqlite_url,
        # A group of its own from the end of the log: this test's alerts, no one else's.
        "HUB_CONSUMER_GROUP_PREFIX": f"kill-test-{uuid.uuid4().hex[:8]}",
        "HUB_CONSUMER_OFFSET_RESET": "latest",
    }
    env.pop("HUB_DATABASE_URL", None)
    notifier = Services(env=env, ports={"notifier": port}, data_dir=tmp_path)
    api = httpx.AsyncClient(base_url=notifier.url("notifier"), timeout=10)

    async def log(alert_id: str) -> dict[str, dict[str, Any]]:
        response = await api.get(f"/v1/alerts/{alert_id}/deliveries", headers=bearer(AGENCY))
        if response.status_code != 200:
            return {}
        return {d["office_id"]: d for d in response.json()["items"]}

    async def consuming() -> bool:
        """The alerts consumer holds every partition with a position (its lag is exported)."""
        metrics = (await api.get("/metrics")).text
        return (
            sum(
                line.startswith("hub_consumer_lag{") and 'topic="alerts.v1"' in line
                for line in metrics.splitlines()
            )
            == kafka.partitions
        )

    async def delivered(alert_id: str) -> dict[str, dict[str, Any]] | None:
        found = await log(alert_id)
        return (
            found
            if len(found) == 2 and all(d["status"] == "delivered" for d in found.values())
            else None
        )

    try:
        notifier.start("notifier")
        await notifier.until_ready()
        await until(consuming, what="the alerts consumer's partitions")
        retrying = new_alert("370812")
        receiver.plan("/yanzhou", retrying["alert_id"], (503, {"Retry-After": "3"}))
        await publish(producer, retrying)

        async def waiting_for_retry() -> bool:
            found = await log(retrying["alert_id"])
            return (
                found.get("city", {}).get("status") == "delivered"
                and found.get("yanzhou", {}).get("attempts") == 1
            )

        await until(waiting_for_retry, what="a delivery waiting for its retry")
        notifier.kill("notifier")  # SIGKILL: no lifespan exit, no flush, no release
        meanwhile = new_alert("370812")
        await publish(producer, meanwhile)

        notifier.start("notifier")
        await notifier.until_ready()
        for alert in (retrying, meanwhile):
            await until(lambda a=alert: delivered(a["alert_id"]), what="delivered")  # type: ignore[misc]
    finally:
        await api.aclose()
        notifier.stop_all()

    tries = receiver.for_alert_now(retrying["alert_id"], "/yanzhou")
    assert [r.status for r in tries] == [503, 200]
    assert tries[0].headers["webhook-id"] == tries[1].headers["webhook-id"]
    assert len(receiver.for_alert_now(retrying["alert_id"], "/city")) == 1
    for path in ("/city", "/yanzhou"):
        assert [r.status for r in receiver.for_alert_now(meanwhile["alert_id"], path)] == [200]
