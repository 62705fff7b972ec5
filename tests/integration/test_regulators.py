"""Industry regulators as notifier subscribers, against the real broker: a regulator gets,
signed like every office delivery, the permits of its divisions when it regulates
construction and the rectification_overdue alerts its department owns, and nothing else."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from sqlmodel import select

from hub_shared import clock
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.events import AlertData, AlertSubject
from hub_shared.web import webhooks
from hubtools.kafka import LocalKafka
from notifier.app import create_app as notifier_app
from notifier.tables import Delivery
from tests.support.events import permit_issued
from tests.support.hub import new_permit_no, running, settings_for, wait_for
from tests.support.incidents import publish
from tests.support.receiver import Receiver, webhook_receiver

SECRET = "whsec_" + base64.b64encode(b"regulator-webhook-secret-012345").decode()
# id, kind, divisions, department, industries
SUBSCRIBERS = (
    ("rencheng-office", "office", "370811", None, ()),
    ("rencheng-housing", "regulator", "370811", "housing", ("construction",)),
    ("rencheng-emergency", "regulator", "370811", "emergency", ("hazardous_chemicals",)),
    ("sishui-housing", "regulator", "370831", "housing", ("construction",)),
)


def _config(path: Path, urls: dict[str, str]) -> Path:
    text = "[delivery]\nretry_schedule_seconds = [0.2, 0.5]\ntimeout_seconds = 2\n"
    for sid, kind, division, department, industries in SUBSCRIBERS:
        text += f"""
[[offices]]
id = "{sid}"
kind = "{kind}"
divisions = ["{division}"]
webhook_url = "{urls[sid]}"
webhook_secret = "{SECRET}"
token = "token-{sid}"
industries = {json.dumps(list(industries))}
"""
        text += f'department = "{department}"\n' if department else ""
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Setup:
    receivers: dict[str, Receiver]
    kafka: LocalKafka
    app: FastAPI
    ends: dict[TopicPartition, int] = field(default_factory=dict)


@pytest.fixture
async def setup(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Setup]:
    async with AsyncExitStack() as stack:
        receivers = {s[0]: await stack.enter_async_context(webhook_receiver()) for s in SUBSCRIBERS}
        config = _config(tmp_path / "hub.toml", {k: r.url for k, r in receivers.items()})
        settings = settings_for(
            "notifier", config=config, bootstrap=kafka.bootstrap, database_url=database_url,
            data_dir=tmp_path,
        )  # fmt: skip
        app = notifier_app(settings)
        await stack.enter_async_context(running(app))
        yield Setup(receivers, kafka, app)


async def _end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer("alerts.v1", "permits.v1", bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in ("alerts.v1", "permits.v1")
            for p in consumer.partitions_for_topic(topic) or set()
        ]
        return dict(await consumer.end_offsets(partitions))
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


def _alert(kind: str, division: str, department: str | None) -> Envelope:
    alert = AlertData(
        alert_id=str(uuid.uuid4()), kind=kind, status="open",  # type: ignore[arg-type]
        division_code=division,
        subject=AlertSubject(uscc="91370811MA3AY4C041", name="任城企业",
                             finding_id="ZG-1" if department else None, department=department),
        reason="test", raised_at=clock.now(),
    )  # fmt: skip
    return Envelope.new("alert.raised", source="/test", key=alert.alert_id, data=alert.to_json())


def _permit(division: str) -> Envelope:
    envelope = permit_issued(new_permit_no(division))
    data = dict(envelope.data) | {"division_code": division}
    return Envelope.new("permit.issued", source="/test", key=data["permit_no"], data=data)


def _subjects(receiver: Receiver) -> list[tuple[str, str]]:
    """(event type, subject) of each delivery, after checking its signature."""
    seen = []
    for delivery in receiver.received:
        webhooks.verify(SECRET, delivery.body, delivery.headers)
        body: dict[str, Any] = json.loads(delivery.body)
        seen.append(
            (
                body["type"].rsplit(".", 2)[-2] + "." + body["type"].rsplit(".", 1)[-1],
                body["subject"],
            )
        )
    return sorted(seen)


async def test_a_regulator_gets_only_its_divisions_industries_and_department(setup: Setup) -> None:
    housing_overdue = _alert("rectification_overdue", "370811", "housing")
    emergency_overdue = _alert("rectification_overdue", "370811", "emergency")
    uninsured = _alert("enterprise_uninsured", "370811", None)
    sishui_overdue = _alert("rectification_overdue", "370831", "housing")
    permits = {code: _permit(code) for code in ("370811", "370831", "370812")}
    await publish(setup.kafka, [housing_overdue, emergency_overdue, uninsured, sishui_overdue,
                                *permits.values()])  # fmt: skip
    setup.ends = await _end_offsets(setup.kafka.bootstrap)

    def alert(envelope: Envelope) -> tuple[str, str]:
        return ("alert.raised", str(envelope.data["alert_id"]))

    def permit(code: str) -> tuple[str, str]:
        return ("permit.issued", str(permits[code].data["permit_no"]))

    expected = {
        "rencheng-office": sorted(
            [alert(housing_overdue), alert(emergency_overdue), alert(uninsured)]
        ),
        "rencheng-housing": sorted([alert(housing_overdue), permit("370811")]),
        "rencheng-emergency": [alert(emergency_overdue)],
        "sishui-housing": sorted([alert(sishui_overdue), permit("370831")]),
    }

    ours = {subject for pairs in expected.values() for _, subject in pairs}
    ours |= {str(permits["370812"].data["permit_no"])}

    async def all_arrived() -> bool:
        # Only this test's subjects count: a receiver may hold deliveries of earlier ones.
        return all(
            len([p for p in _subjects(setup.receivers[k]) if p[1] in ours]) >= len(v)
            for k, v in expected.items()
        )

    await wait_for(all_arrived, what="every subscriber's deliveries")
    await wait_for(lambda: _caught_up(setup), what="the notifier's consumers to catch up")
    # Every delivery row is written with its event's offset: now all of them exist.
    async with setup.app.state.runtime.sessions() as session:
        rows = (await session.exec(select(Delivery))).all()
    queued: dict[str, list[tuple[str, str]]] = {k: [] for k in expected}
    for row in rows:
        if row.alert_id in ours:
            queued[row.office_id].append((row.event_name, row.alert_id))
    assert {k: sorted(v) for k, v in queued.items()} == expected
    for key, receiver in setup.receivers.items():
        assert [pair for pair in _subjects(receiver) if pair[1] in ours] == expected[key]
    alerts = [housing_overdue, emergency_overdue, uninsured, sishui_overdue]
    await _reads_match_deliveries(setup, expected, {str(a.data["alert_id"]) for a in alerts})


async def _reads_match_deliveries(
    setup: Setup, expected: dict[str, list[tuple[str, str]]], alert_ids: set[str]
) -> None:
    """Over REST a subscriber reads exactly the alerts it was sent: a regulator neither
    lists nor opens another department's or another kind's alert of its divisions."""
    transport = httpx.ASGITransport(app=setup.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as api:
        for key, pairs in expected.items():
            headers = {"Authorization": f"Bearer token-{key}"}
            listed = await api.get("/v1/alerts", params={"limit": "500"}, headers=headers)
            assert listed.status_code == 200, listed.text
            ids = {a["alert_id"] for a in listed.json()["items"]} & alert_ids
            sent = {subject for name, subject in pairs if name.startswith("alert.")}
            assert ids == sent, key
            for alert_id in sent:
                assert (await api.get(f"/v1/alerts/{alert_id}", headers=headers)).status_code == 200
            for alert_id in alert_ids - sent:
                opened = await api.get(f"/v1/alerts/{alert_id}", headers=headers)
                assert opened.status_code == 404, (key, alert_id)


async def _caught_up(setup: Setup) -> bool:
    prefix = setup.app.state.runtime.settings.consumer_group_prefix
    admin = AIOKafkaAdminClient(bootstrap_servers=setup.kafka.bootstrap)
    await admin.start()
    try:
        for name, topic in (("alerts", "alerts.v1"), ("regulator-permits", "permits.v1")):
            committed = await admin.list_consumer_group_offsets(f"{prefix}-notifier-{name}")
            behind = [
                tp
                for tp, end in setup.ends.items()
                if tp.topic == topic and end and (tp not in committed or committed[tp].offset < end)
            ]
            if behind:
                return False
    finally:
        await admin.close()
    return True
