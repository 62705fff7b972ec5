"""Routing and isolation over the whole city: eleven county offices and the city office,
every endpoint. An alert reaches exactly the offices whose divisions contain it, and an
office sees and acts on nothing outside its divisions, through any endpoint: REST, the
live stream, the dashboard, its webhooks, the admin API."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from hub_shared.domain.divisions import CITY, county_codes, name_of
from hubtools.kafka import LocalKafka
from tests.integration.test_notifier_streams import Stream
from tests.support.dashboard import sign_in
from tests.support.hub import bearer
from tests.support.notifier_harness import Hub, new_alert, running_hub, until

SECRET = "whsec_" + base64.b64encode(b"routing-matrix-office-secret-01").decode()
ADMIN = "routing-admin"
OFFICE_CODES = (CITY, *county_codes())
HTMX = {"HX-Request": "true"}


def token(code: str) -> str:
    return f"routing-office-{code}"


def write_city(path: Path, receiver: str) -> Path:
    """Every county's office and the city office, each with its own webhook path."""
    offices = "".join(
        f"""
[[offices]]
id = "o{code}"
divisions = ["{code}"]
webhook_url = "{receiver}/{code}"
webhook_secret = "{SECRET}"
token = "{token(code)}"
"""
        for code in OFFICE_CODES
    )
    path.write_text(
        f"""
[delivery]
retry_schedule_seconds = [0.2, 0.5]
timeout_seconds = 1

[[clients]]
id = "ops"
token = "{ADMIN}"
scopes = ["admin", "alerts:read"]
divisions = ["370800"]
{offices}""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def hub(kafka: LocalKafka, sqlite_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(kafka, sqlite_url, tmp_path, http=True, writer=write_city) as h:
        yield h


def covers(office: str, division: str) -> bool:
    return office in (CITY, division)


async def dashboard_client(stack: AsyncExitStack, hub: Hub, code: str) -> httpx.AsyncClient:
    client = await stack.enter_async_context(httpx.AsyncClient(base_url=hub.base_url, timeout=30))
    signed_in = await sign_in(client, token(code))
    assert signed_in.status_code == 303, signed_in.text
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/dashboard" in cookie
    return client


async def test_every_office_sees_and_acts_on_its_divisions_only_through_every_endpoint(
    hub: Hub,
) -> None:
    alerts = {code: new_alert(code) for code in county_codes()}
    ids = {a["alert_id"]: code for code, a in alerts.items()}
    mine = {o: {i for i, d in ids.items() if covers(o, d)} for o in OFFICE_CODES}
    async with AsyncExitStack() as stack:
        pages = {o: await dashboard_client(stack, hub, o) for o in OFFICE_CODES}
        api_streams = {
            o: await stack.enter_async_context(
                Stream(hub.api, "/v1/alerts/stream", bearer(token(o)))
            )
            for o in OFFICE_CODES
        }
        page_streams = {
            o: await stack.enter_async_context(Stream(pages[o], "/dashboard/stream", {}))
            for o in OFFICE_CODES
        }
        for alert in alerts.values():
            await hub.publish("alert.raised", alert)

        # Webhooks: each county office gets its own county's alert, the city every one.
        for alert in alerts.values():
            await until(lambda a=alert: hub.stored_as(a["alert_id"], ADMIN), what="stored")  # type: ignore[misc]
        await until(
            lambda: hub.receiver.for_alert_count(set(ids), f"/{CITY}", len(ids)), what="city"
        )
        for code in county_codes():
            await until(lambda c=code: hub.receiver.for_alert_count(set(ids), f"/{c}", 1),  # type: ignore[misc]
                        what=f"webhook {code}")  # fmt: skip
        for office in OFFICE_CODES:
            got = {r.event["subject"] for r in hub.receiver.at(f"/{office}", set(ids))}
            assert got == mine[office], office

        for office in OFFICE_CODES:
            await check_rest(hub, office, ids, mine[office])
            await check_dashboard(pages[office], office, ids, mine[office])

        # Each county acknowledges its own alert: streams carry the change to the county
        # and the city, and nothing of another county ever reached a county's stream.
        for code, alert in alerts.items():
            acked = await hub.api.post(f"/v1/alerts/{alert['alert_id']}/ack",
                                       headers=bearer(token(code)))  # fmt: skip
            assert acked.status_code == 200
            assert acked.json()["acknowledged_by"] == f"o{code}"
        for office in OFFICE_CODES:
            for stream in (api_streams[office], page_streams[office]):
                for alert_id in mine[office]:
                    await until(
                        lambda s=stream, a=alert_id: s.seen(a, acknowledged_by=f"o{ids[a]}"),  # type: ignore[misc]
                        what=f"the ack on {office}'s stream",
                    )
                seen = {a["alert_id"] for a in stream.alerts}
                assert seen & set(ids) == mine[office], office


async def check_rest(hub: Hub, office: str, ids: dict[str, str], own: set[str]) -> None:
    auth = bearer(token(office))

    async def listed(**params: str) -> set[str]:
        response = await hub.api.get("/v1/alerts", params={"limit": "500", **params}, headers=auth)
        assert response.status_code == 200, response.text
        return {a["alert_id"] for a in response.json()["items"]} & set(ids)

    assert await listed() == own
    for division in OFFICE_CODES:
        if covers(office, division):
            expected = {i for i in own if division in (CITY, ids[i])}
            assert await listed(division_code=division) == expected
        else:
            response = await hub.api.get("/v1/alerts", params={"division_code": division},
                                         headers=auth)  # fmt: skip
            assert response.status_code == 403
    for alert_id in ids:
        path = f"/v1/alerts/{alert_id}"
        expected = 200 if alert_id in own else 404
        assert (await hub.api.get(path, headers=auth)).status_code == expected
        log = await hub.api.get(f"{path}/deliveries", headers=auth)
        assert log.status_code == expected
        if expected == 200:
            assert {d["office_id"] for d in log.json()["items"]} == {f"o{office}"}
        else:
            assert (await hub.api.post(f"{path}/ack", headers=auth)).status_code == 404
            dismissed = await hub.api.post(f"{path}/dismiss", json={"reason": "x"}, headers=auth)
            assert dismissed.status_code == 404
    for target in OFFICE_CODES:  # offices hold no admin scope, not even for themselves
        since = {"since": "2021-01-01T00:00:00+08:00"}
        path = f"/v1/admin/offices/o{target}/redeliver"
        response = await hub.api.post(path, json=since, headers=auth)
        assert response.status_code == 403


async def check_dashboard(
    page: httpx.AsyncClient, office: str, ids: dict[str, str], own: set[str]
) -> None:
    home = await page.get("/dashboard")
    assert home.status_code == 200
    options = set(re.findall(r'<option value="(3708\d\d)"', home.text))
    assert options == ({office} if office != CITY else set(county_codes()))
    rows = await page.get("/dashboard/alerts", params={"status": "open"})
    assert rows.status_code == 200
    assert set(re.findall(r'data-alert-id="([^"]+)"', rows.text)) & set(ids) == own
    for division in OFFICE_CODES:
        response = await page.get("/dashboard/alerts", params={"division_code": division})
        assert response.status_code == (200 if covers(office, division) else 403)
    for alert_id in ids:
        expected = 200 if alert_id in own else 404
        detail = await page.get(f"/dashboard/alerts/{alert_id}")
        assert detail.status_code == expected
        if expected == 404:
            ack = await page.post(f"/dashboard/alerts/{alert_id}/ack", headers=HTMX)
            assert ack.status_code == 404
            dismiss = await page.post(f"/dashboard/alerts/{alert_id}/dismiss",
                                      data={"reason": "x"}, headers=HTMX)  # fmt: skip
            assert dismiss.status_code == 404
    charts = (await page.get("/dashboard/charts.json")).json()
    counties = set(charts["open"]["counties"])
    if office == CITY:
        assert counties >= {name_of(c) for c in county_codes()}
    else:
        assert counties == {name_of(office)}
