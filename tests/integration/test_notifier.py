"""The notifier against the real broker and a real database: alerts.v1 in, signed
CloudEvents out to office webhooks (CONTRACTS.md §8), the office REST API (§7), acks
published back on alerts.v1.

Other tests publish alerts on the same session broker, so every assertion is about the
alerts this test published (a fresh id each), never about everything a receiver saw.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from hub_shared.config import EnvSettings, ServiceSettings
from hub_shared.envelope import Envelope
from hub_shared.kafka import Producer
from hub_shared.topics import event_type
from hubtools.kafka import LocalKafka
from notifier.app import create_app
from tests.integration.test_notifier_receiver import Receiver
from tests.support.hub import bearer, running, topic_records, wait_for

CITY_SECRET = "whsec_" + base64.b64encode(b"notifier-test-city-secret-0123").decode()
YANZHOU_SECRET = "whsec_" + base64.b64encode(b"notifier-test-yanzhou-secret-01").decode()
AGENCY, CITY, RENCHENG, YANZHOU = "n-agency", "n-office-city", "n-office-rencheng", "n-office-yz"
PROBLEM = "application/problem+json"
T = TypeVar("T")


async def until(probe: Callable[[], Awaitable[T | None]], *, what: str) -> T:
    """Wait (polling, with a 30 s deadline) until `probe` returns something truthy."""
    result = await wait_for(probe, what=what)
    assert result is not None
    return result


def write_config(path: Path, receiver: str) -> Path:
    """A city office and Yanzhou with webhooks, Rencheng pull-only, a read-only client."""
    path.write_text(
        f"""
[delivery]
retry_schedule_seconds = [0.2, 0.5]
timeout_seconds = 1
jitter_ratio = 0.1

[[clients]]
id = "agency"
token = "{AGENCY}"
scopes = ["alerts:read"]
divisions = ["370800"]

[[offices]]
id = "city"
divisions = ["370800"]
webhook_url = "{receiver}/city"
webhook_secret = "{CITY_SECRET}"
token = "{CITY}"

[[offices]]
id = "yanzhou"
divisions = ["370812"]
webhook_url = "{receiver}/yanzhou"
webhook_secret = "{YANZHOU_SECRET}"
token = "{YANZHOU}"

[[offices]]
id = "rencheng"
divisions = ["370811"]
token = "{RENCHENG}"
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Hub:
    """The notifier running in-process, its webhook receiver, and a producer."""

    settings: ServiceSettings
    receiver: Receiver
    producer: Producer
    bootstrap: str
    stack: AsyncExitStack
    client: httpx.AsyncClient | None = None

    @property
    def api(self) -> httpx.AsyncClient:
        assert self.client is not None
        return self.client

    async def start(self) -> None:
        self.client = await self.stack.enter_async_context(running(create_app(self.settings)))

    async def restart(self) -> None:
        """Stop the app (lifespan exit) and start a new one on the same database."""
        await self.stack.aclose()
        self.stack = AsyncExitStack()
        await self.start()

    async def publish(
        self,
        name: str,
        data: dict[str, Any],
        *,
        time: datetime | None = None,
        event_id: str | None = None,
    ) -> Envelope:
        envelope = Envelope(
            type=event_type(name),
            source="/hub/enrollment",
            data=data,
            key=data["alert_id"],
            subject=data["alert_id"],
            id=event_id or str(uuid.uuid4()),
            time=time or datetime.now(UTC),
        )
        await self.producer.publish_many([("alerts.v1", envelope)])
        return envelope

    async def alert(self, alert_id: str, token: str = AGENCY) -> httpx.Response:
        return await self.api.get(f"/v1/alerts/{alert_id}", headers=bearer(token))

    async def stored(self, alert_id: str, **expected: Any) -> dict[str, Any] | None:
        """The alert as the REST API shows it, once it has the expected field values."""
        response = await self.alert(alert_id)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if all(body.get(k) == v for k, v in expected.items()) else None

    async def deliveries(self, alert_id: str, token: str = AGENCY) -> list[dict[str, Any]]:
        """The delivery log; empty while the alert is not stored yet."""
        response = await self.api.get(f"/v1/alerts/{alert_id}/deliveries", headers=bearer(token))
        if response.status_code == 404:
            return []
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def settled(self, alert_id: str, count: int) -> list[dict[str, Any]] | None:
        """The delivery log once `count` deliveries exist and none is pending any more."""
        items = await self.deliveries(alert_id)
        if len(items) == count and all(d["status"] != "pending" for d in items):
            return items
        return None


@pytest.fixture
async def hub(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    receiver = Receiver()
    await receiver.start()
    env = EnvSettings(
        config=write_config(tmp_path / "hub.toml", receiver.base_url),
        data_dir=tmp_path,
        kafka_bootstrap=kafka.bootstrap,
        notifier_database_url=database_url,
    )
    producer = Producer(kafka.bootstrap, client_id="notifier-test")
    await producer.start()
    h = Hub(
        ServiceSettings.load("notifier", env), receiver, producer, kafka.bootstrap, AsyncExitStack()
    )
    try:
        await h.start()
        yield h
    finally:
        await h.stack.aclose()
        await producer.stop()
        await receiver.stop()


def new_alert(division: str = "370811", **overrides: Any) -> dict[str, Any]:
    """An open project alert as the matcher raises it (CONTRACTS.md §7)."""
    alert: dict[str, Any] = {
        "alert_id": str(uuid.uuid4()),
        "kind": "project_not_enrolled",
        "status": "open",
        "division_code": division,
        "subject": {
            "uscc": "91370812MA3L12T073",
            "name": "山东鲁班建设集团有限公司",
            "permit_no": f"{division}202103150101",
            "project_name": "任城区运河花园3#楼",
        },
        "reason": "施工许可证已发放 24 小时, 未找到按项目参保记录",
        "evidence": [{"type": "permit.issued", "id": str(uuid.uuid4())}],
        "raised_at": datetime.now(UTC).isoformat(),
        "resolved_at": None,
        "resolution": None,
    }
    alert.update(overrides)
    return alert


def resolved(alert: dict[str, Any], resolution: str = "SI-370811-2021-000123") -> dict[str, Any]:
    return {
        **alert,
        "status": "resolved",
        "resolved_at": datetime.now(UTC).isoformat(),
        "resolution": resolution,
    }


# --- outbound webhooks (§8) ---


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


async def test_a_pending_delivery_survives_a_restart(hub: Hub) -> None:
    alert = new_alert("370812")
    hub.receiver.plan("/yanzhou", alert["alert_id"], (503, {"Retry-After": "3"}))
    await hub.publish("alert.raised", alert)
    await until(lambda: hub.receiver.for_alert(alert["alert_id"], "/yanzhou"), what="first attempt")
    await hub.restart()
    first, second = await until(
        lambda: hub.receiver.for_alert(alert["alert_id"], "/yanzhou", at_least=2),
        what="the attempt after the restart",
    )
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    log = await until(lambda: hub.settled(alert["alert_id"], 2), what="delivered")
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


# --- office REST (§7) ---


async def test_offices_see_only_alerts_of_their_divisions(hub: Hub) -> None:
    rencheng, yanzhou = new_alert("370811"), new_alert("370812")
    await hub.publish("alert.raised", rencheng)
    await hub.publish("alert.raised", yanzhou)
    for alert in (rencheng, yanzhou):
        await until(lambda a=alert: hub.stored(a["alert_id"]), what="stored")  # type: ignore[misc]

    async def ids(token: str, **params: str) -> set[str]:
        response = await hub.api.get(
            "/v1/alerts", params={"limit": "500", **params}, headers=bearer(token)
        )
        assert response.status_code == 200, response.text
        return {a["alert_id"] for a in response.json()["items"]}

    mine = {rencheng["alert_id"], yanzhou["alert_id"]}
    assert mine & await ids(RENCHENG) == {rencheng["alert_id"]}
    assert mine & await ids(YANZHOU) == {yanzhou["alert_id"]}
    assert mine <= await ids(CITY)
    assert mine <= await ids(AGENCY)
    assert mine & await ids(CITY, division_code="370811") == {rencheng["alert_id"]}
    assert mine & await ids(CITY, division_code="370800") == mine
    assert mine & await ids(RENCHENG, status="resolved") == set()
    assert mine & await ids(RENCHENG, kind="project_not_enrolled") == {rencheng["alert_id"]}

    shown = await hub.alert(rencheng["alert_id"], RENCHENG)
    assert shown.status_code == 200
    assert shown.json()["division_code"] == "370811"
    for token, alert_id in (
        (RENCHENG, yanzhou["alert_id"]),
        (YANZHOU, rencheng["alert_id"]),
        (RENCHENG, str(uuid.uuid4())),
    ):
        hidden = await hub.alert(alert_id, token)
        assert hidden.status_code == 404, hidden.text  # not 403: ids do not leak
        assert hidden.headers["content-type"] == PROBLEM
    outside = await hub.api.get(
        "/v1/alerts", params={"division_code": "370812"}, headers=bearer(RENCHENG)
    )
    assert outside.status_code == 403
    assert outside.headers["content-type"] == PROBLEM
    assert (await hub.api.get("/v1/alerts")).status_code == 401
    assert (await hub.api.get("/v1/alerts", headers=bearer("nope"))).status_code == 401
    bad = await hub.api.get(
        "/v1/alerts", params={"status": "maybe", "limit": "0"}, headers=bearer(CITY)
    )
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {
        ("query", "status"),
        ("query", "limit"),
    }


async def test_alert_list_is_newest_first_and_pages_with_a_cursor(hub: Hub) -> None:
    base = datetime(2099, 1, 1, tzinfo=UTC)  # newer than anything else on the topic
    alerts = [
        new_alert(
            "370829", kind="enterprise_uninsured", raised_at=(base + timedelta(hours=h)).isoformat()
        )
        for h in (0, 1, 1, 2, 3)
    ]
    for alert in alerts:
        await hub.publish("alert.raised", alert)
    for alert in alerts:
        await until(lambda a=alert: hub.stored(a["alert_id"]), what="stored")  # type: ignore[misc]
    expected = [
        a["alert_id"]
        for a in sorted(alerts, key=lambda a: (a["raised_at"], a["alert_id"]), reverse=True)
    ]
    seen: list[str] = []
    cursor: str | None = None
    for _page in range(3):
        params = {"division_code": "370829", "kind": "enterprise_uninsured", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        response = await hub.api.get("/v1/alerts", params=params, headers=bearer(CITY))
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [a["alert_id"] for a in page["items"]]
        cursor = page["next_cursor"]
    assert seen[:5] == expected
    broken = await hub.api.get(
        "/v1/alerts", params={"cursor": "not-a-cursor"}, headers=bearer(CITY)
    )
    assert broken.status_code == 422
    assert broken.headers["content-type"] == PROBLEM


async def test_ack_is_recorded_published_once_and_idempotent(hub: Hub) -> None:
    alert = new_alert("370811")
    await hub.publish("alert.raised", alert)
    await until(lambda: hub.stored(alert["alert_id"]), what="stored")
    path = f"/v1/alerts/{alert['alert_id']}/ack"

    assert (await hub.api.post(path, headers=bearer(AGENCY))).status_code == 403  # read only
    assert (await hub.api.post(path, headers=bearer(YANZHOU))).status_code == 404
    first = await hub.api.post(path, headers=bearer(RENCHENG))
    assert first.status_code == 200, first.text
    acked = first.json()
    assert acked["acknowledged_by"] == "rencheng"
    assert acked["acknowledged_at"]
    assert acked["status"] == "open"
    assert acked["alert_id"] == alert["alert_id"]
    again = await hub.api.post(path, headers=bearer(CITY))
    assert again.status_code == 200
    assert again.json() == acked
    assert (await hub.alert(alert["alert_id"])).json() == acked

    async def acknowledged() -> list[Any]:
        records = await topic_records(hub.bootstrap, "alerts.v1")
        return [
            r
            for r in records
            if r.key == alert["alert_id"].encode()
            and dict(r.headers).get("ce_type") == b"cn.gov.jining.hub.alert.acknowledged"
        ]

    [record] = await until(acknowledged, what="alert.acknowledged on alerts.v1")
    headers = dict(record.headers)
    assert headers["ce_source"] == b"/hub/notifier"
    assert headers["ce_subject"] == alert["alert_id"].encode()
    assert json.loads(record.value)["acknowledged_by"] == "rencheng"
    # The notifier reads its own ack back: state unchanged, and no webhook for an ack.
    log = await until(lambda: hub.settled(alert["alert_id"], 1), what="raise delivered")
    assert [d["type"] for d in log] == ["alert.raised"]
    assert (await hub.alert(alert["alert_id"])).json() == acked
