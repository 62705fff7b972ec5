"""The notifier test harness: the app in-process against the session broker and a real
database, its office webhook receiver, and alerts as the matcher would publish them.

Other tests publish alerts on the same session broker, so every assertion is about the
alerts a test published (a fresh id each), never about everything a receiver saw.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from hub_shared.config import EnvSettings, ServiceSettings
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.topics import event_type
from hubtools.kafka import LocalKafka
from notifier.app import create_app
from tests.support.hub import bearer, consuming, running, wait_for
from tests.support.notifier_receiver import Receiver
from tests.support.processes import free_port
from tests.support.servers import uvicorn_server

CITY_SECRET = "whsec_" + base64.b64encode(b"notifier-test-city-secret-0123").decode()
YANZHOU_SECRET = "whsec_" + base64.b64encode(b"notifier-test-yanzhou-secret-01").decode()
AGENCY, CITY, RENCHENG, YANZHOU = "n-agency", "n-office-city", "n-office-rencheng", "n-office-yz"
ADMIN = "n-admin"
PROBLEM = "application/problem+json"
T = TypeVar("T")


async def until(probe: Callable[[], Awaitable[T | None]], *, what: str) -> T:
    """Wait (polling, with a 30 s deadline) until `probe` returns something truthy."""
    result = await wait_for(probe, what=what)
    assert result is not None
    return result


def write_config(path: Path, receiver: str, *, delivery: str = "", yanzhou: str = "") -> Path:
    """A city office and Yanzhou with webhooks, Rencheng pull-only, a read-only client and
    an admin. `delivery` and `yanzhou` add lines to those sections."""
    path.write_text(
        f"""
[delivery]
retry_schedule_seconds = [0.2, 0.5]
timeout_seconds = 1
jitter_ratio = 0.1
{delivery}

[[clients]]
id = "agency"
token = "{AGENCY}"
scopes = ["alerts:read"]
divisions = ["370800"]

[[clients]]
id = "ops"
token = "{ADMIN}"
scopes = ["admin"]
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
{yanzhou}

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
    http: bool = False  # behind a real HTTP server (streams need one), else in-process
    base_url: str = ""
    app: FastAPI | None = None

    @property
    def api(self) -> httpx.AsyncClient:
        assert self.client is not None
        return self.client

    async def start(self) -> None:
        self.app = app = create_app(self.settings)
        if not self.http:
            self.client = await self.stack.enter_async_context(running(app))
        else:
            self.base_url = await self.stack.enter_async_context(serving(app))
            self.client = await self.stack.enter_async_context(
                httpx.AsyncClient(base_url=self.base_url, timeout=30)
            )
        await consuming(app)

    async def add_replica(self) -> FastAPI:
        """A second notifier on the same database and consumer group, stopped with this."""
        app = create_app(self.settings)
        await self.stack.enter_async_context(running(app))
        assert self.app is not None
        await consuming(self.app, app)  # the group rebalanced over both
        return app

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

    async def stored_as(self, alert_id: str, token: str) -> dict[str, Any] | None:
        response = await self.alert(alert_id, token)
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]

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


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app (with its lifespan) behind uvicorn on 127.0.0.1; yields its base URL.
    Streams need a real server: httpx's ASGI transport waits for the whole body."""
    port = free_port()
    options = {"access_log": False, "lifespan": "on", "timeout_graceful_shutdown": 2}
    async with uvicorn_server(app, port, **options):
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            app.state.alert_feed.close()  # end open streams, so the server can stop


@asynccontextmanager
async def running_hub(
    kafka: LocalKafka,
    database_url: str,
    tmp_path: Path,
    *,
    http: bool = False,
    writer: Callable[[Path, str], Path] | None = None,
    **config: str,
) -> AsyncIterator[Hub]:
    """A receiver, a producer and the notifier app; each test module makes it a fixture.
    `http`: serve it over real HTTP; `writer(path, receiver_url)` writes another config;
    `config`: extra lines for write_config."""
    receiver = Receiver()
    await receiver.start()
    path = tmp_path / "hub.toml"
    env = EnvSettings(
        config=writer(path, receiver.base_url)
        if writer
        else write_config(path, receiver.base_url, **config),
        data_dir=tmp_path,
        kafka_bootstrap=kafka.bootstrap,
        notifier_database_url=database_url,
        # A group of its own from the end of the log: this test's alerts only, not every
        # alert the session's other tests published on the shared broker.
        consumer_group_prefix=f"notifier-test-{uuid.uuid4().hex[:8]}",
        consumer_offset_reset="latest",
    )
    producer = Producer(kafka.bootstrap, client_id="notifier-test")
    await producer.start()
    h = Hub(
        ServiceSettings.load("notifier", env),
        receiver,
        producer,
        kafka.bootstrap,
        AsyncExitStack(),
        http=http,
    )
    try:
        await h.start()
        yield h
    finally:
        await h.stack.aclose()
        await producer.stop()
        await receiver.stop()


def new_alert(division: str = "370811", **overrides: Any) -> dict[str, Any]:
    """An open project alert as the matcher raises it (docs/interfaces.md §7)."""
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
