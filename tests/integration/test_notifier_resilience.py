"""An office whose system is down (docs/interfaces.md §8 and issue 5): the circuit breaker
holds its deliveries back and drains them at a bounded rate when it recovers; an
endpoint failing for `disable_after_seconds` is disabled with an operational alert to
the city; an admin redelivery sends everything again; nothing is lost on the way."""

from __future__ import annotations

import base64
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from hubtools.kafka import LocalKafka
from tests.support.hub import bearer
from tests.support.notifier_harness import (
    ADMIN,
    CITY,
    YANZHOU,
    YANZHOU_SECRET,
    Hub,
    new_alert,
    resolved,
    running_hub,
    until,
)

RETIRING = "whsec_" + base64.b64encode(b"yanzhou-secret-being-retired-01").decode()
BREAKER = """
breaker_failure_threshold = 2
breaker_open_seconds = 0.3
breaker_max_open_seconds = 0.6
drain_rate_per_second = 10
"""


@pytest.fixture
async def hub(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    config = BREAKER + "disable_after_seconds = 3600\n"
    rotating = f'webhook_secret_previous = "{RETIRING}"'  # Yanzhou rotates its secret
    async with running_hub(
        kafka, database_url, tmp_path, delivery=config, yanzhou=rotating
    ) as running:
        yield running


@pytest.fixture
async def impatient(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    config = BREAKER + "disable_after_seconds = 1\n"
    async with running_hub(kafka, database_url, tmp_path, delivery=config) as running:
        yield running


async def test_the_breaker_holds_a_down_office_back_and_drains_it_at_a_bounded_rate(
    hub: Hub,
) -> None:
    await _down_office_held_back_and_drained(hub)


async def test_with_two_replicas_an_office_still_has_one_breaker(hub: Hub) -> None:
    """Two notifiers on one database and consumer group: each office is delivered to by
    one of them at a time (office leases), so the down office still gets one probe at a
    time and its backlog one drain rate, not one per replica."""
    replica = await hub.add_replica()
    assert hub.app is not None
    workers = [hub.app.state.delivery_worker, replica.state.delivery_worker]

    async def split() -> bool:
        held = [w.held_offices for w in workers]
        return all(held) and not held[0] & held[1] and held[0] | held[1] == {"city", "yanzhou"}

    await until(split, what="the two replicas to share the offices out")
    await _down_office_held_back_and_drained(hub)
    holder = next(w for w in workers if "yanzhou" in w.held_offices)
    other = next(w for w in workers if w is not holder)
    assert other.attempts_to("yanzhou") == 0, "one worker delivered to the office"


async def _down_office_held_back_and_drained(hub: Hub) -> None:
    hub.receiver.fail_all("/yanzhou", 503)
    first = new_alert("370812")
    await hub.publish("alert.raised", first)
    await until(lambda: hub.receiver.for_alert(first["alert_id"], "/yanzhou", at_least=2),
                what="two failures: the breaker opens")  # fmt: skip
    backlog = [new_alert("370812") for _ in range(20)]
    for alert in backlog:
        await hub.publish("alert.raised", alert)
    await hub.publish("alert.resolved", resolved(backlog[0]))
    ids = {a["alert_id"] for a in [first, *backlog]}
    await until(lambda: _delivered(hub, backlog[-1]["alert_id"], "city"), what="the city's")

    # While it is down the office gets a probe now and then, not its backlog.
    probes = await until(lambda: _at_least(hub, ids, 5), what="probes of the open breaker")
    gaps = [b.at - a.at for a, b in itertools.pairwise(probes[1:])]
    assert all(gap >= 0.25 for gap in gaps), gaps
    assert len(hub.receiver.at("/yanzhou", ids)) < 12
    for alert in backlog[1:4]:
        [log] = [d for d in await hub.deliveries(alert["alert_id"]) if d["office_id"] == "yanzhou"]
        assert log["status"] == "pending"  # probes use up no retries: nothing exhausts

    hub.receiver.recover("/yanzhou")
    for alert in [first, *backlog]:
        await until(lambda a=alert: _delivered_to_yanzhou(hub, a["alert_id"]),  # type: ignore[misc]
                    what="drained")  # fmt: skip
    ok = [r for r in hub.receiver.at("/yanzhou", ids) if r.status == 200]
    assert len({r.headers["webhook-id"] for r in ok}) == len(ok) == 22
    for request in ok:  # mid-rotation: both the new and the retiring secret verify
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        for secret in (YANZHOU_SECRET, RETIRING):
            Webhook(secret).verify(request.body, request.headers)
    # 10/s with a burst of 10: 22 deliveries take over a second, not one burst.
    assert ok[-1].at - ok[0].at >= 0.9
    types = [r.event["type"] for r in ok if r.event["subject"] == backlog[0]["alert_id"]]
    assert types == ["cn.gov.jining.hub.alert.raised", "cn.gov.jining.hub.alert.resolved"]
    metrics = (await hub.api.get("/metrics")).text
    assert 'hub_notifier_breaker_open{office="yanzhou"} 0.0' in metrics


async def _at_least(hub: Hub, ids: set[str], count: int) -> list[object] | None:
    found = hub.receiver.at("/yanzhou", ids)
    return found if len(found) >= count else None  # type: ignore[return-value]


async def _delivered(hub: Hub, alert_id: str, office: str) -> bool:
    log = await hub.deliveries(alert_id)
    own = [d for d in log if d["office_id"] == office]
    return bool(own) and all(d["status"] == "delivered" for d in own)


async def _delivered_to_yanzhou(hub: Hub, alert_id: str) -> bool:
    return await _delivered(hub, alert_id, "yanzhou")


async def test_a_long_failing_endpoint_is_disabled_the_city_is_told_and_an_admin_resends(
    impatient: Hub,
) -> None:
    hub = impatient
    started = datetime.now(UTC) - timedelta(seconds=1)
    hub.receiver.fail_all("/yanzhou", 503)
    lost = new_alert("370812")
    await hub.publish("alert.raised", lost)

    async def disabled() -> list[dict[str, object]] | None:
        log = await hub.deliveries(lost["alert_id"])
        own = [d for d in log if d["office_id"] == "yanzhou"]
        return own if own and own[0]["status"] == "disabled" else None

    await until(disabled, what="the endpoint disabled after 1 s of failures")
    # The operational alert: in the city's inbox and on its webhook, not Yanzhou's.
    listed = await hub.api.get("/v1/alerts", params={"kind": "delivery_endpoint_disabled",
                               "status": "open"}, headers=bearer(CITY))  # fmt: skip
    [ops] = [a for a in listed.json()["items"] if a["subject"]["office_id"] == "yanzhou"]
    assert ops["division_code"] == "370800"
    assert "已停用" in ops["reason"]
    assert (await hub.alert(ops["alert_id"], YANZHOU)).status_code == 404
    [webhook] = await until(lambda: hub.receiver.for_alert(ops["alert_id"], "/city"),
                            what="the city's webhook")  # fmt: skip
    assert webhook.event["data"]["kind"] == "delivery_endpoint_disabled"
    first_ids = {r.headers["webhook-id"] for r in hub.receiver.at("/yanzhou", {lost["alert_id"]})}

    # Alerts go on queueing for it, disabled and kept.
    later = new_alert("370812")
    await hub.publish("alert.raised", later)
    await until(lambda: hub.settled(later["alert_id"], 2), what="queued while disabled")
    assert {d["office_id"]: (d["status"], d["attempts"]) for d in
            await hub.deliveries(later["alert_id"])}["yanzhou"] == ("disabled", 0)  # fmt: skip
    path = "/v1/admin/offices/yanzhou/redeliver"
    beijing = timezone(timedelta(hours=8))
    body = {"since": started.astimezone(beijing).isoformat()}  # any offset: same instant
    assert (await hub.api.post(path, json=body, headers=bearer(YANZHOU))).status_code == 403
    assert (await hub.api.post(path, json={}, headers=bearer(ADMIN))).status_code == 422
    nowhere = await hub.api.post("/v1/admin/offices/nope/redeliver", json=body,
                                 headers=bearer(ADMIN))  # fmt: skip
    assert nowhere.status_code == 404
    pull_only = await hub.api.post("/v1/admin/offices/rencheng/redeliver", json=body,
                                   headers=bearer(ADMIN))  # fmt: skip
    assert pull_only.status_code == 409

    hub.receiver.recover("/yanzhou")
    resent = await hub.api.post(path, json=body, headers=bearer(ADMIN))
    assert resent.status_code == 200, resent.text
    assert resent.json()["endpoint_enabled"] is True
    assert resent.json()["requeued"] == 2
    for alert in (lost, later):
        await until(lambda a=alert: _delivered_to_yanzhou(hub, a["alert_id"]),  # type: ignore[misc]
                    what="redelivered")  # fmt: skip
    again = [r for r in hub.receiver.at("/yanzhou", {lost["alert_id"]}) if r.status == 200]
    assert {r.headers["webhook-id"] for r in again} == first_ids  # the same event again
    await until(lambda: hub.stored(ops["alert_id"], status="resolved"), what="ops resolved")
    closing = await until(lambda: hub.receiver.for_alert(ops["alert_id"], "/city", at_least=2),
                          what="the city told it is resolved")  # fmt: skip
    assert closing[-1].event["type"] == "cn.gov.jining.hub.alert.resolved"
