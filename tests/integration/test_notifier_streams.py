"""The live stream of an office's alerts (GET /v1/alerts/stream, server-sent events)
over real HTTP: only the caller's divisions, every kind of change, resumable."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubtools.kafka import LocalKafka
from tests.support.hub import bearer
from tests.support.notifier_harness import (
    RENCHENG,
    YANZHOU,
    Hub,
    new_alert,
    resolved,
    running_hub,
    until,
)


@dataclass
class Stream:
    """An SSE stream read in the background: every `event: alert` it brought."""

    client: httpx.AsyncClient
    path: str
    headers: dict[str, str]
    alerts: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    status: int | None = None
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stream:
        self._task = asyncio.create_task(self._read())
        async with asyncio.timeout(10):
            await self.opened.wait()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _read(self) -> None:
        async with self.client.stream("GET", self.path, headers=self.headers) as response:
            self.status = response.status_code
            self.opened.set()
            name, data, event_id = "", [], ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line == "":
                    if name == "alert" and data:
                        self.alerts.append(json.loads("\n".join(data)))
                        self.ids.append(event_id)
                    name, data, event_id = "", [], ""

    def about(self, alert_ids: set[str]) -> list[dict[str, Any]]:
        return [a for a in self.alerts if a["alert_id"] in alert_ids]

    async def seen(self, alert_id: str, **expected: Any) -> dict[str, Any] | None:
        """The latest state of an alert on the stream, once it has the expected values."""
        found = [a for a in self.alerts if a["alert_id"] == alert_id]
        if found and all(found[-1].get(k) == v for k, v in expected.items()):
            return found[-1]
        return None


@pytest.fixture
async def hub(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(kafka, database_url, tmp_path, http=True) as running:
        yield running


async def test_a_stream_brings_every_change_of_the_callers_alerts_and_no_others(
    hub: Hub,
) -> None:
    assert (await hub.api.get("/v1/alerts/stream")).status_code == 401
    own, other = new_alert("370811"), new_alert("370812")
    async with Stream(hub.api, "/v1/alerts/stream", bearer(RENCHENG)) as rencheng:
        assert rencheng.status == 200
        await hub.publish("alert.raised", own)
        await hub.publish("alert.raised", other)
        await until(lambda: rencheng.seen(own["alert_id"], status="open"), what="the raise")
        acked = await hub.api.post(f"/v1/alerts/{own['alert_id']}/ack", headers=bearer(RENCHENG))
        assert acked.status_code == 200
        await until(
            lambda: rencheng.seen(own["alert_id"], acknowledged_by="rencheng"), what="the ack"
        )
        await hub.publish("alert.resolved", resolved(own))
        await hub.publish("alert.resolved", resolved(other))
        await until(lambda: rencheng.seen(own["alert_id"], status="resolved"), what="resolved")
        # Yanzhou's alert was stored and changed twice meanwhile: never on this stream.
        await until(lambda: hub.stored(other["alert_id"], status="resolved"), what="other")
        assert rencheng.about({other["alert_id"]}) == []
        last_id = rencheng.ids[-1]

    # Reconnecting with Last-Event-ID brings what changed since, and only that.
    later = new_alert("370811")
    await hub.publish("alert.raised", later)
    await until(lambda: hub.stored(later["alert_id"]), what="stored while disconnected")
    headers = {**bearer(RENCHENG), "Last-Event-ID": last_id}
    async with Stream(hub.api, "/v1/alerts/stream", headers) as resumed:
        await until(lambda: resumed.seen(later["alert_id"]), what="the missed raise")
        assert resumed.about({other["alert_id"]}) == []
    async with Stream(hub.api, "/v1/alerts/stream", bearer(YANZHOU)) as yanzhou:
        assert yanzhou.status == 200
