"""The notifier's outbound webhooks (docs/interfaces.md §8) against the real broker and a real
database: signed CloudEvents, retries with the same webhook-id, Retry-After, exhaustion,
raised before resolved, 410, restarts, late and repeated events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from hubtools.kafka import LocalKafka
from tests.support.hub import bearer
from tests.support.notifier_harness import (
    ADMIN,
    CITY_SECRET,
    YANZHOU,
    YANZHOU_SECRET,
    Hub,
    new_alert,
    resolved,
    running_hub,
    until,
)


@pytest.fixture
async def hub(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(kafka, database_url, tmp_path) as running:
        yield running


async def test_raised_alert_reaches_the_covering_office_as_a_signed_cloudevent(hub: Hub) -> None:
    alert = new_alert("370811")
    await hub.publish("alert.raised", alert)

    [request] = await until(lambda: hub.receiver.for_alert(alert["alert_id"]), what="the webhook")
    assert request.path == "/city"  # the city covers Rencheng; Yanzhou does not
    assert request.headers["content-type"] == "application/cloudevents+json"
    verified = Webhook(CITY_SECRET).verify(request.body, request.headers)
    event = json.loads(request.body)
    assert verified == event
    assert set(event) == {
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "datacontenttype",
        "data",
    }
    assert event["specversion"] == "1.0"
    assert event["id"] == request.headers["webhook-id"]
    uuid.UUID(event["id"])
    assert event["source"] == "/hub/enrollment"
    assert event["type"] == "cn.gov.jining.hub.alert.raised"
    assert event["subject"] == alert["alert_id"]
    assert event["datacontenttype"] == "application/json"
    datetime.fromisoformat(event["time"])
    data = event["data"]
    for field in ("alert_id", "kind", "status", "division_code", "reason", "resolution"):
        assert data[field] == alert[field], field
    assert {k: v for k, v in data["subject"].items() if v is not None} == alert["subject"]
    assert data["evidence"][0]["type"] == "permit.issued"
    assert datetime.fromisoformat(data["raised_at"]) == datetime.fromisoformat(alert["raised_at"])
    assert data["resolved_at"] is None
    assert data["acknowledged_at"] is None

    # One delivery, to the city only: Rencheng pulls over REST, Yanzhou does not cover it.
    [delivery] = await until(lambda: hub.settled(alert["alert_id"], 1), what="delivered")
    assert delivery["office_id"] == "city"
    assert delivery["status"] == "delivered"
    assert delivery["event_id"] == event["id"]
    assert delivery["type"] == "alert.raised"
    assert [a["status_code"] for a in delivery["log"]] == [200]
    assert delivery["log"][0]["latency_ms"] >= 0
    metrics = (await hub.api.get("/metrics")).text
    assert 'hub_notifier_delivery_attempts_total{outcome="ok"}' in metrics
    assert CITY_SECRET.removeprefix("whsec_") not in metrics


async def test_a_failed_delivery_is_retried_with_the_same_webhook_id(hub: Hub) -> None:
    alert = new_alert("370812")
    hub.receiver.plan("/yanzhou", alert["alert_id"], 500, "hang")  # then 200
    await hub.publish("alert.raised", alert)

    tries = await until(
        lambda: hub.receiver.for_alert(alert["alert_id"], "/yanzhou", at_least=3),
        what="three attempts at Yanzhou",
    )
    assert len({r.headers["webhook-id"] for r in tries}) == 1
    for request in tries:  # each retry is signed afresh, and verifies
        Webhook(YANZHOU_SECRET).verify(request.body, request.headers)
    assert len({r.body for r in tries}) == 1

    log = await until(lambda: hub.settled(alert["alert_id"], 2), what="both delivered")
    yanzhou = next(d for d in log if d["office_id"] == "yanzhou")
    assert yanzhou["status"] == "delivered"
    assert yanzhou["attempts"] == 3
    assert [a["status_code"] for a in yanzhou["log"]] == [500, None, 200]
    assert "no answer within 1 s" in yanzhou["log"][1]["error"]
    assert yanzhou["log"][1]["latency_ms"] >= 1000
    # The Yanzhou office sees its own deliveries only; the city's went through at once.
    own = await hub.deliveries(alert["alert_id"], token=YANZHOU)
    assert [d["office_id"] for d in own] == ["yanzhou"]
    city = next(d for d in log if d["office_id"] == "city")
    assert city["status"] == "delivered"
    assert city["attempts"] == 1


async def test_retry_after_is_honoured_and_the_schedule_ends_in_exhausted(hub: Hub) -> None:
    patient, hopeless = new_alert("370812"), new_alert("370812")
    hub.receiver.plan("/yanzhou", patient["alert_id"], (503, {"Retry-After": "2"}))
    hub.receiver.plan("/yanzhou", hopeless["alert_id"], 502, 502, 502)
    await hub.publish("alert.raised", patient)
    await hub.publish("alert.raised", hopeless)

    first, second = await until(
        lambda: hub.receiver.for_alert(patient["alert_id"], "/yanzhou", at_least=2),
        what="the retry after Retry-After",
    )
    assert second.at - first.at >= 1.9  # the schedule alone would retry after ~0.2 s

    log = await until(lambda: hub.settled(hopeless["alert_id"], 2), what="exhausted")
    yanzhou = next(d for d in log if d["office_id"] == "yanzhou")
    assert yanzhou["status"] == "exhausted"
    assert yanzhou["attempts"] == 3
    assert [a["status_code"] for a in yanzhou["log"]] == [502, 502, 502]
    assert len(hub.receiver.for_alert_now(hopeless["alert_id"], "/yanzhou")) == 3

    # An exhausted raise does not hold the resolve back.
    await hub.publish("alert.resolved", resolved(hopeless))
    log = await until(lambda: hub.settled(hopeless["alert_id"], 4), what="resolve delivered")
    assert [
        (d["office_id"], d["type"], d["status"]) for d in log if d["office_id"] == "yanzhou"
    ] == [
        ("yanzhou", "alert.raised", "exhausted"),
        ("yanzhou", "alert.resolved", "delivered"),
    ]


async def test_raised_always_arrives_before_resolved_for_an_office(hub: Hub) -> None:
    alert = new_alert("370812")
    hub.receiver.plan("/yanzhou", alert["alert_id"], 500, 500)  # the raise fails twice
    await hub.publish("alert.raised", alert)
    await hub.publish("alert.resolved", resolved(alert))

    await until(lambda: hub.settled(alert["alert_id"], 4), what="all four delivered")
    yanzhou = hub.receiver.for_alert_now(alert["alert_id"], "/yanzhou")
    types = [r.event["type"].rsplit(".", 1)[1] for r in yanzhou]
    assert types == ["raised", "raised", "raised", "resolved"]
    assert [r.status for r in yanzhou] == [500, 500, 200, 200]
    assert yanzhou[0].headers["webhook-id"] == yanzhou[2].headers["webhook-id"]
    assert yanzhou[3].headers["webhook-id"] != yanzhou[0].headers["webhook-id"]
    assert yanzhou[3].event["data"]["status"] == "resolved"
    city = [r.event["type"] for r in hub.receiver.for_alert_now(alert["alert_id"], "/city")]
    assert city == ["cn.gov.jining.hub.alert.raised", "cn.gov.jining.hub.alert.resolved"]


async def test_410_disables_the_endpoint_and_its_deliveries_stop(hub: Hub) -> None:
    gone, later = new_alert("370812"), new_alert("370812")
    hub.receiver.plan("/yanzhou", gone["alert_id"], 410)
    await hub.publish("alert.raised", gone)
    log = await until(lambda: hub.settled(gone["alert_id"], 2), what="the 410")
    assert {d["office_id"]: d["status"] for d in log} == {
        "yanzhou": "disabled",
        "city": "delivered",
    }

    await hub.publish("alert.raised", later)
    log = await until(lambda: hub.settled(later["alert_id"], 2), what="the next alert")
    assert {d["office_id"]: (d["status"], d["attempts"]) for d in log} == {
        "yanzhou": ("disabled", 0),
        "city": ("delivered", 1),
    }
    assert hub.receiver.for_alert_now(later["alert_id"], "/yanzhou") == []
    assert len(hub.receiver.for_alert_now(gone["alert_id"], "/yanzhou")) == 1


async def test_pending_and_in_flight_deliveries_survive_a_restart(hub: Hub) -> None:
    waiting, in_flight = new_alert("370812"), new_alert("370812")
    hub.receiver.plan("/yanzhou", waiting["alert_id"], (503, {"Retry-After": "3"}))
    hub.receiver.plan("/yanzhou", in_flight["alert_id"], "hang")  # no answer before the stop
    await hub.publish("alert.raised", waiting)
    await hub.publish("alert.raised", in_flight)
    for alert in (waiting, in_flight):
        await until(
            lambda a=alert: hub.receiver.for_alert(a["alert_id"], "/yanzhou"),  # type: ignore[misc]
            what="first attempt",
        )
    await hub.restart()
    restarted = asyncio.get_running_loop().time()
    for alert in (in_flight, waiting):
        first, second = await until(
            lambda a=alert: hub.receiver.for_alert(a["alert_id"], "/yanzhou", at_least=2),  # type: ignore[misc]
            what="the attempt after the restart",
        )
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        # The stopped worker gave its lease back: the interrupted POST went again at once,
        # not when the lease (timeout + 30 s) would have run out.
        assert second.at - restarted < 15
        log = await until(lambda a=alert: hub.settled(a["alert_id"], 2), what="delivered")  # type: ignore[misc]
        assert all(d["status"] == "delivered" for d in log)


async def test_late_and_repeated_events_change_nothing_they_should_not(hub: Hub) -> None:
    alert = new_alert("370812")
    closing = await hub.publish("alert.resolved", resolved(alert))
    await hub.producer.publish_many([("alerts.v1", closing)])  # the same event again
    # A raise that arrives after the resolve (later, even by its own clock) is stale.
    await hub.publish("alert.raised", alert, time=datetime.now(UTC) + timedelta(minutes=5))
    # A corrected resolve: applied (same status, later), but no second webhook.
    await hub.publish(
        "alert.resolved",
        resolved(alert, "SI-370812-2021-000999"),
        time=datetime.now(UTC) + timedelta(minutes=1),
    )
    await until(
        lambda: hub.stored(alert["alert_id"], resolution="SI-370812-2021-000999"),
        what="the corrected resolution",
    )
    stored = await hub.stored(alert["alert_id"])
    assert stored is not None
    assert stored["status"] == "resolved"
    log = await until(lambda: hub.settled(alert["alert_id"], 2), what="one resolve each")
    assert {(d["office_id"], d["type"]) for d in log} == {
        ("city", "alert.resolved"),
        ("yanzhou", "alert.resolved"),
    }


async def test_exhausted_deliveries_are_kept_and_an_admin_resends_them_since_a_time(
    hub: Hub,
) -> None:
    old, recent = new_alert("370812"), new_alert("370812")
    hub.receiver.plan("/yanzhou", old["alert_id"], 502, 502, 502)
    await hub.publish("alert.raised", old)
    log = await until(lambda: hub.settled(old["alert_id"], 2), what="exhausted")
    assert {d["office_id"]: d["status"] for d in log}["yanzhou"] == "exhausted"
    healthy = new_alert("370812")  # a success between: the breaker stays closed
    await hub.publish("alert.raised", healthy)
    await until(lambda: hub.settled(healthy["alert_id"], 2), what="a delivery that works")
    since = datetime.now(UTC)
    hub.receiver.plan("/yanzhou", recent["alert_id"], 502, 502, 502)
    await hub.publish("alert.raised", recent)
    log = await until(lambda: hub.settled(recent["alert_id"], 2), what="exhausted too")
    [exhausted] = [d for d in log if d["office_id"] == "yanzhou"]
    assert (exhausted["status"], exhausted["attempts"]) == ("exhausted", 3)

    response = await hub.api.post(
        "/v1/admin/offices/yanzhou/redeliver",
        json={"since": since.isoformat()},
        headers=bearer(ADMIN),
    )
    assert response.status_code == 200, response.text
    assert response.json()["requeued"] == 1  # the recent one only
    log = await until(lambda: hub.settled(recent["alert_id"], 2), what="resent")
    [resent] = [d for d in log if d["office_id"] == "yanzhou"]
    assert resent["status"] == "delivered"
    assert [a["status_code"] for a in resent["log"]] == [502, 502, 502, 200]
    tries = hub.receiver.for_alert_now(recent["alert_id"], "/yanzhou")
    assert {r.headers["webhook-id"] for r in tries} == {exhausted["event_id"]}
    assert len(hub.receiver.for_alert_now(old["alert_id"], "/yanzhou")) == 3
