"""End to end: the four services as processes, driven only through HTTP, as docs/interfaces.md says.

A signed permit for an unenrolled project becomes a signed CloudEvent alert at the county
office; a project enrolled first raises none; with the broker down permits are still accepted
and their alerts arrive once it is back, each exactly once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from hubtools.kafka import LocalKafka
from tests.support.hub import (
    AGENCY_TOKEN,
    OFFICE_SECRET,
    bearer,
    encode,
    new_permit_no,
    permit,
    signed,
    topic_records,
    wait_for,
    write_config,
)
from tests.support.processes import Services, hub_processes
from tests.support.receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.e2e


@dataclass
class E2E:
    services: Services
    office: Receiver
    http: httpx.AsyncClient
    kafka: LocalKafka

    async def post_permit(self, permit_no: str) -> httpx.Response:
        body = encode(permit(permit_no))
        return await self.http.post(
            self.services.url("permit-ingest") + "/v1/permits", content=body, headers=signed(body)
        )

    async def enroll(self, permit_no: str) -> httpx.Response:
        return await self.http.post(
            self.services.url("enrollment") + "/v1/enrollments",
            json={
                "enrollment_id": f"SI-{permit_no}",
                "kind": "project",
                "permit_no": permit_no,
                "project_code": None,
                "project_name": "任城区运河花园3#楼",
                "employer_uscc": "91370812MA3L12T073",
                "employer_name": "山东鲁班建设集团有限公司",
                "division_code": "370811",
                "insured_headcount": 0,
                "valid_from": "2021-03-10",
                "valid_to": None,
            },
            headers=bearer(AGENCY_TOKEN),
        )

    def alerts_for(self, permit_no: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
        out = []
        for r in self.office.received:
            event = json.loads(r.body)
            if event["data"]["subject"].get("permit_no") == permit_no:
                out.append((r.headers, event))
        return out


@pytest.fixture
async def e2e(kafka: LocalKafka, tmp_path: Path) -> AsyncIterator[E2E]:
    async with webhook_receiver() as office:
        config = write_config(tmp_path / "hub.toml", grace_seconds=2, office_webhook=office.url)
        with hub_processes(config, kafka.bootstrap, tmp_path) as services:
            await services.until_ready()
            async with httpx.AsyncClient(timeout=20) as http:
                yield E2E(services, office, http, kafka)


async def test_unenrolled_permit_becomes_signed_cloudevent_alert_at_county_office(e2e: E2E) -> None:
    permit_no = new_permit_no()
    assert (await e2e.post_permit(permit_no)).status_code == 202

    async def raised() -> list[tuple[dict[str, str], dict[str, Any]]]:
        return e2e.alerts_for(permit_no)

    headers, event = (await wait_for(raised, timeout=60, what="the alert at the office"))[0]
    raw = next(r.body for r in e2e.office.received if json.loads(r.body)["id"] == event["id"])
    Webhook(OFFICE_SECRET).verify(raw, headers)  # the reference library, not our code
    assert headers["content-type"].startswith("application/cloudevents+json")
    assert headers["webhook-id"] == event["id"]
    assert event["specversion"] == "1.0"
    assert event["type"] == "cn.gov.jining.hub.alert.raised"
    assert event["source"] == "/hub/enrollment"
    assert event["subject"] == event["data"]["alert_id"]
    alert = event["data"]
    assert alert["kind"] == "project_not_enrolled" and alert["status"] == "open"
    assert alert["division_code"] == "370811"
    assert alert["subject"]["uscc"] == "91370812MA3L12T073"

    # The office can read it through its REST API as well.
    listed = await e2e.http.get(
        e2e.services.url("notifier") + "/v1/alerts", headers=bearer("office-rencheng")
    )
    assert alert["alert_id"] in {a["alert_id"] for a in listed.json()["items"]}

    assert (await e2e.enroll(permit_no)).status_code == 201

    async def resolved() -> list[tuple[dict[str, str], dict[str, Any]]]:
        events = e2e.alerts_for(permit_no)
        return events if len(events) >= 2 else []

    events = await wait_for(resolved, timeout=60, what="the resolution at the office")
    assert [e["type"] for _, e in events] == [
        "cn.gov.jining.hub.alert.raised",
        "cn.gov.jining.hub.alert.resolved",
    ]
    assert events[1][1]["data"]["resolution"] == f"SI-{permit_no}"


async def test_project_enrolled_first_raises_no_alert(e2e: E2E) -> None:
    enrolled, control = new_permit_no(), new_permit_no()
    assert (await e2e.enroll(enrolled)).status_code == 201
    assert (await e2e.post_permit(enrolled)).status_code == 202
    assert (await e2e.post_permit(control)).status_code == 202

    async def control_alert() -> list[tuple[dict[str, str], dict[str, Any]]]:
        return e2e.alerts_for(control)

    await wait_for(control_alert, timeout=60, what="the control permit's alert")
    assert e2e.alerts_for(enrolled) == []


@pytest.mark.faults
async def test_broker_down_permits_accepted_then_published_and_delivered_exactly_once(
    e2e: E2E,
) -> None:
    permit_nos = [new_permit_no() for _ in range(3)]
    await asyncio.to_thread(e2e.kafka.stop)
    try:
        for permit_no in permit_nos:
            response = await e2e.post_permit(permit_no)
            assert response.status_code == 202, response.text
    finally:
        await asyncio.to_thread(e2e.kafka.restart)

    async def all_delivered() -> bool:
        return all(e2e.alerts_for(p) for p in permit_nos)

    await wait_for(all_delivered, timeout=120, what="alerts after the broker came back")
    records = await topic_records(e2e.kafka.bootstrap, "permits.v1")
    for permit_no in permit_nos:
        published = [r for r in records if r.key == permit_no.encode()]
        assert len(published) == 1, f"{permit_no} published {len(published)} times"
        assert len({h["webhook-id"] for h, _ in e2e.alerts_for(permit_no)}) == 1
        assert len(e2e.alerts_for(permit_no)) == 1
