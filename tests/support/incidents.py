"""Test support for the incidents service in-process: its config, the app with a client
(and the `service` fixture), registry events for employers, accidents, and waiting for its
projection to catch up."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from sqlmodel import col, select

from hub_shared import clock
from hub_shared.config import EnvSettings, ServiceSettings
from hub_shared.domain.identifiers import USCC_ALPHABET, uscc_check_char
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.events import EnrollmentData, EnterpriseData
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.messaging.topics import topic_of
from hubtools.kafka import LocalKafka
from incidents.app import create_app
from tests.support.hub import running

EMERGENCY, HEALTH, REPORTS, COUNTY = "p-emergency", "p-health", "p-reports", "p-rencheng"
PROJECTED = ("enterprises.v1", "enrollments.v1")


def write_config(path: Path) -> Path:
    path.write_text(
        f"""
[[clients]]
id = "emergency"
token = "{EMERGENCY}"
scopes = ["accidents:write"]
divisions = ["370800"]

[[clients]]
id = "health"
token = "{HEALTH}"
scopes = ["diseases:write"]
divisions = ["370800"]

[[clients]]
id = "reports"
token = "{REPORTS}"
scopes = ["reports:read"]
divisions = ["370800"]

[[clients]]
id = "rencheng"
token = "{COUNTY}"
scopes = ["accidents:write", "diseases:write", "reports:read"]
divisions = ["370811"]
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Service:
    client: httpx.AsyncClient
    app: FastAPI
    settings: ServiceSettings

    async def post(self, path: str, body: dict[str, Any], token: str) -> httpx.Response:
        return await self.client.post(path, json=body, headers=bearer(token))

    async def stored(self, model: Any, record_id: str) -> Any:
        async with self.app.state.runtime.sessions() as session:
            return await session.get(model, record_id)

    async def staged(self, subject: str) -> list[OutboxMessage]:
        """Outbox rows (published or not) of a record."""
        async with self.app.state.runtime.sessions() as session:
            query = select(OutboxMessage).where(col(OutboxMessage.ce_subject) == subject)
            return list((await session.exec(query)).all())


@asynccontextmanager
async def incidents_service(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> AsyncIterator[Service]:
    """The incidents app in-process, its lifespan running, a client bound to it."""
    settings = ServiceSettings.load(
        "incidents",
        EnvSettings(
            config=write_config(tmp_path / "incidents.toml"),
            kafka_bootstrap=kafka.bootstrap,
            incidents_database_url=database_url,
            data_dir=tmp_path,
            consumer_group_prefix=f"test-{uuid.uuid4().hex[:8]}",
        ),
    )
    app = create_app(settings)
    async with running(app) as client:
        yield Service(client, app, settings)


@pytest.fixture
async def service(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """The incidents service for one test, on either database backend. A test module takes it
    by assignment, `service = support.service`: imported by name, ruff (F811) would read every
    test's `service` argument as a redefinition of the import."""
    async with incidents_service(kafka, database_url, tmp_path) as running_service:
        yield running_service


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_id(prefix: str) -> str:
    """A fresh record id such as `YJ-1a2b3c4d5e6f`."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_uscc(division: str) -> str:
    body = f"91{division}" + "".join(random.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_char(body)


def employer_events(
    uscc: str, division: str, industry: str, employees: int, insured: int
) -> list[Envelope]:
    """An enterprise and its employer enrollment (from 2019) as their registry events."""
    at = datetime(2019, 12, 1, tzinfo=clock.BEIJING)
    enterprise = EnterpriseData(
        uscc=uscc, name=f"医药{uscc[-4:]}", division_code=division, industry_code=industry,
        employees=employees,
    )  # fmt: skip
    enrollment = EnrollmentData(
        enrollment_id=new_id("SI"),
        kind="employer",
        employer_uscc=uscc,
        employer_name=enterprise.name,
        division_code=division,
        insured_headcount=insured,
        valid_from=date(2019, 1, 1),
    )
    return [
        Envelope(
            type="cn.gov.jining.hub.enterprise.registered",
            source="/test",
            key=uscc,
            data=enterprise.to_json(),
            time=at,
        ),
        Envelope(
            type="cn.gov.jining.hub.enrollment.registered",
            source="/test",
            key=uscc,
            data=enrollment.to_json(),
            time=at,
        ),
    ]


async def projected_end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(*PROJECTED, bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in PROJECTED
            for partition in (consumer.partitions_for_topic(topic) or set())
        ]
        assert partitions, "the broker lists no partitions for the projected topics"
        return dict(await consumer.end_offsets(partitions))
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


async def projection_caught_up(service: Service, ends: dict[TopicPartition, int]) -> bool:
    """Whether the projection has committed every offset up to `ends`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=service.settings.kafka_bootstrap)
    await admin.start()
    try:
        group = f"{service.settings.consumer_group_prefix}-incidents-projection"
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return all(
        end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in ends.items()
    )


async def publish(kafka: LocalKafka, events: list[Envelope]) -> None:
    producer = Producer(kafka.bootstrap, client_id="test-incidents")
    await producer.start()
    try:
        await producer.publish_many([(topic_of(e.name).name, e) for e in events])
    finally:
        await producer.stop()


def accident(uscc: str, division: str, industry: str, year: int, n: int) -> dict[str, Any]:
    """A general accident with one minor injury, the n-th of its year."""
    return {
        "report_id": new_id("YJ"),
        "occurred_at": f"{year}-0{n % 9 + 1}-1{n % 9}T10:00:00+08:00",
        "division_code": division,
        "employer": {"name": "医药企业", "uscc": uscc},
        "industry_code": industry,
        "grade": "general",
        "deaths": 0,
        "serious_injuries": 0,
        "minor_injuries": 1,
    }
