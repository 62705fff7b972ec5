"""Test support: configs, in-process services, signed requests, reading topics, waiting."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from hub_shared.config import EnvSettings, ServiceName, ServiceSettings
from hub_shared.web import webhooks

T = TypeVar("T")

SOURCE_ID = "test-approval"
SOURCE_SECRET = "whsec_" + base64.b64encode(b"test-source-secret-0123456789").decode()
OFFICE_SECRET = "whsec_" + base64.b64encode(b"test-office-secret-0123456789").decode()
AGENCY_TOKEN = "agency-token"
EMERGENCY_TOKEN = "emergency-token"
HEALTH_TOKEN = "health-token"
REPORTS_TOKEN = "reports-token"
COUNTY_AGENCY_TOKEN = "rencheng-agency-token"


def write_config(
    path: Path,
    *,
    grace_seconds: float = 86400,
    office_webhook: str | None = None,
    retry_schedule: tuple[float, ...] = (0.2, 0.5, 1.0),
) -> Path:
    """A test configuration: one approval source, REST clients, a county and a city office."""
    hook = (
        f'webhook_url = "{office_webhook}"\nwebhook_secret = "{OFFICE_SECRET}"\n'
        if office_webhook
        else ""
    )
    path.write_text(
        f"""
[matching]
grace_seconds = {grace_seconds}
scan_interval_seconds = 0.2

[delivery]
retry_schedule_seconds = [{", ".join(str(s) for s in retry_schedule)}]
timeout_seconds = 2

[[sources]]
id = "{SOURCE_ID}"
kind = "permits"
secret = "{SOURCE_SECRET}"

[[clients]]
id = "agency"
token = "{AGENCY_TOKEN}"
scopes = [
  "enterprises:write", "enrollments:write", "findings:write", "coverage:read", "alerts:read"
]
divisions = ["370800"]

[[clients]]
id = "rencheng-agency"
token = "{COUNTY_AGENCY_TOKEN}"
scopes = ["enterprises:write", "enrollments:write", "findings:write", "coverage:read"]
divisions = ["370811"]

[[clients]]
id = "emergency"
token = "{EMERGENCY_TOKEN}"
scopes = ["accidents:write"]
divisions = ["370800"]

[[clients]]
id = "health"
token = "{HEALTH_TOKEN}"
scopes = ["diseases:write"]
divisions = ["370800"]

[[clients]]
id = "reports"
token = "{REPORTS_TOKEN}"
scopes = ["reports:read"]
divisions = ["370800"]

[[offices]]
id = "rencheng"
divisions = ["370811"]
token = "office-rencheng"
{hook}
[[offices]]
id = "city"
divisions = ["370800"]
token = "office-city"
""",
        encoding="utf-8",
    )
    return path


def settings_for(
    service: ServiceName, *, config: Path, bootstrap: str, database_url: str, data_dir: Path
) -> ServiceSettings:
    slug = service.replace("-", "_")
    env = EnvSettings(
        config=config,
        kafka_bootstrap=bootstrap,
        data_dir=data_dir,
        consumer_group_prefix=f"test-{uuid.uuid4().hex[:8]}",
        **{f"{slug}_database_url": database_url},  # type: ignore[arg-type]
    )
    return ServiceSettings.load(service, env)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (consumers, relay, workers) and a client bound to it. Its
    shutdown must stop every background task it started."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield client
    assert not app.state.runtime.abandoned, (
        f"still running after shutdown: {app.state.runtime.abandoned}"
    )


def signed(
    body: bytes,
    *,
    webhook_id: str | None = None,
    secret: str = SOURCE_SECRET,
    content_type: str = "application/json",
) -> dict[str, str]:
    headers = webhooks.sign([secret], webhook_id or f"msg_{uuid.uuid4().hex}", body)
    return {**headers, "X-Hub-Source": SOURCE_ID, "Content-Type": content_type}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def permit(permit_no: str = "370811202103150101", **overrides: Any) -> dict[str, Any]:
    """The example permit of docs/interfaces.md §4."""
    body: dict[str, Any] = {
        "permit_no": permit_no,
        "project_code": "2103-370811-04-01-123456",
        "project_name": "任城区运河花园3#楼",
        "address": "济宁市任城区运河路18号",
        "division_code": "370811",
        "contract_price_wan": 1250.5,
        "area_m2": 12000.5,
        "planned_start": "2021-04-01",
        "planned_end": "2022-10-31",
        "issued_at": "2021-03-15T09:30:00+08:00",
        "issuing_authority": "济宁市任城区行政审批服务局",
        "builder": {"name": "济宁运河置业有限公司", "uscc": "91370811MA3AY4C041"},
        "contractor": {"name": "山东鲁班建设集团有限公司", "uscc": "91370812MA3L12T073"},
        "supervisor": {"name": "济宁正信工程监理有限公司", "uscc": "91370883MA371HU01U"},
        "project_manager": "张伟",
        "commitment_letter": True,
    }
    body.update(overrides)
    return body


def encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


async def topic_records(bootstrap: str, topic: str) -> list[Any]:
    """Every record now in a topic, read from the beginning up to the current end."""
    # Without a group the consumer assigns itself every partition of the topic.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:

        async def assigned() -> bool:
            return bool(consumer.assignment())

        await wait_for(assigned, timeout=30, what=f"the partitions of {topic}")
        partitions = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        begins = await consumer.beginning_offsets(partitions)
        missing = {tp for tp in partitions if ends[tp] > begins[tp]}
        out: list[Any] = []
        deadline = asyncio.get_running_loop().time() + 30
        while missing:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"could not read {topic} to its end")
            batch = await consumer.getmany(*partitions, timeout_ms=200)
            for tp, records in batch.items():
                out.extend(r for r in records if r.offset < ends[tp])
                if records and records[-1].offset >= ends[tp] - 1:
                    missing.discard(tp)
        return out
    finally:
        # aiokafka's group-less coordinator lets its own task's cancellation escape stop().
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


def payload(record: Any) -> dict[str, Any]:
    """A record's JSON object, or {} for what other tests put on shared topics on purpose
    (malformed records for dead-letter tests)."""
    try:
        data = json.loads(record.value)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


async def wait_for(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 30, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def consuming(*apps: FastAPI, timeout: float = 30) -> None:
    """Wait until every consumer of `apps` holds partitions, each with a known position. A
    group that starts at `latest` then reads whatever is published from here on, and no
    other test's history."""
    consumers = [c for app in apps for c in app.state.runtime.consumers]

    async def assigned() -> bool:
        return all(c.assigned_partitions > 0 for c in consumers)

    await wait_for(assigned, timeout=timeout, what="the consumers' partitions")


def new_permit_no(division: str = "370811") -> str:
    """A valid permit number no other test uses: division + a 2021 date + 8 random digits
    (the longer form built on the 18-digit one). With 4 digits, some 3.4 million numbers,
    two of a session's permits on the shared topic met now and then."""
    n = uuid.uuid4().int
    return f"{division}2021{(n % 12) + 1:02d}{(n >> 8) % 28 + 1:02d}{(n >> 16) % 10**8:08d}"
