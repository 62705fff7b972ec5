"""The notifier's office REST API (docs/interfaces.md §7) against the real broker and a real
database: divisions, 404 rather than 403 for others' alerts, paging, acknowledgements
published on alerts.v1."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hubtools.kafka import LocalKafka
from tests.support.hub import bearer, topic_records
from tests.support.notifier_harness import (
    AGENCY,
    CITY,
    PROBLEM,
    RENCHENG,
    YANZHOU,
    Hub,
    new_alert,
    running_hub,
    until,
)


@pytest.fixture
async def hub(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(kafka, database_url, tmp_path) as running:
        yield running


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


async def test_dismiss_records_the_reason_publishes_it_and_a_resolve_still_wins(hub: Hub) -> None:
    alert = new_alert("370811")
    await hub.publish("alert.raised", alert)
    await until(lambda: hub.stored(alert["alert_id"]), what="stored")
    path = f"/v1/alerts/{alert['alert_id']}/dismiss"
    reason = {"reason": "项目已停工, 无施工人员"}

    assert (await hub.api.post(path, json=reason, headers=bearer(AGENCY))).status_code == 403
    assert (await hub.api.post(path, json=reason, headers=bearer(YANZHOU))).status_code == 404
    empty = await hub.api.post(path, json={"reason": ""}, headers=bearer(RENCHENG))
    assert empty.status_code == 422
    assert [e["loc"] for e in empty.json()["errors"]] == [["body", "reason"]]
    first = await hub.api.post(path, json=reason, headers=bearer(RENCHENG))
    assert first.status_code == 200, first.text
    dismissed = first.json()
    assert dismissed["status"] == "dismissed"
    assert dismissed["dismissed_by"] == "rencheng"
    assert dismissed["dismissal_reason"] == reason["reason"]
    assert dismissed["dismissed_at"] and dismissed["acknowledged_by"] == "rencheng"
    again = await hub.api.post(path, json={"reason": "again"}, headers=bearer(CITY))
    assert again.json() == dismissed  # once dismissed, it stays as the first said
    listed = await hub.api.get(
        "/v1/alerts", params={"status": "dismissed", "limit": "500"}, headers=bearer(RENCHENG)
    )
    assert alert["alert_id"] in {a["alert_id"] for a in listed.json()["items"]}

    async def published() -> list[Any]:
        records = await topic_records(hub.bootstrap, "alerts.v1")
        return [
            json.loads(r.value)
            for r in records
            if r.key == alert["alert_id"].encode()
            and dict(r.headers).get("ce_type") == b"cn.gov.jining.hub.alert.acknowledged"
        ]

    [event] = await until(published, what="alert.acknowledged with the dismissal")
    assert event["status"] == "dismissed"
    assert event["dismissal_reason"] == reason["reason"]

    # The coverage appears after all: the resolve wins over the dismissal and is announced.
    closed_at = datetime.now(UTC).isoformat()
    closing = {**alert, "status": "resolved", "resolved_at": closed_at, "resolution": "SI-1"}
    await hub.publish("alert.resolved", closing)
    final = await until(lambda: hub.stored(alert["alert_id"], status="resolved"), what="resolved")
    assert final["dismissal_reason"] == reason["reason"]  # the dismissal stays on record
    log = await until(lambda: hub.settled(alert["alert_id"], 2), what="raise and resolve")
    assert [d["type"] for d in log] == ["alert.raised", "alert.resolved"]
    late = await hub.api.post(path, json=reason, headers=bearer(RENCHENG))
    assert late.status_code == 409
