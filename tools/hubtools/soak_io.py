"""The soak's I/O: a driver that sends the plan through the services' HTTP APIs and retries
what a dead service refused, the killer that SIGKILLs and restarts processes at seeded
moments, and the read-back of the topics and the office receiver."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from hub_shared.web import webhooks
from hubtools import bench_offsets
from hubtools.bench_requests import EMERGENCY_TOKEN, SOURCE_ID, SOURCE_SECRET
from hubtools.soak_plan import KINDS, Kind, Planned, TopicRecord, body_of, wall_now

log = logging.getLogger("hubtools.soak")

AGENCY_TOKEN = "soak-agency-token-0123456789abcdef"  # noqa: S105 - a throwaway soak client
HEALTH_TOKEN = "soak-health-token-0123456789abcdef"  # noqa: S105
CLIENTS_TOML = f"""
[[clients]]
id = "soak-agency"
token = "{AGENCY_TOKEN}"
scopes = ["enrollments:write", "coverage:read"]
divisions = ["370800"]

[[clients]]
id = "soak-health"
token = "{HEALTH_TOKEN}"
scopes = ["diseases:write"]
divisions = ["370800"]
"""
ROUTES: dict[Kind, tuple[str, str, str]] = {  # kind -> service, path, bearer token
    "permit": ("permit-ingest", "/v1/permits", ""),
    "enrollment": ("enrollment", "/v1/enrollments", AGENCY_TOKEN),
    "accident": ("incidents", "/v1/accidents", EMERGENCY_TOKEN),
    "disease": ("incidents", "/v1/diseases", HEALTH_TOKEN),
}
GIVE_UP_SECONDS = 900.0  # one request retried for longer than this is counted as not accepted
IN_FLIGHT = 16  # requests in flight per service: more would only queue in the client's pool


@dataclass
class KindStats:
    sent: int = 0
    accepted: int = 0
    attempts: int = 0
    retried: int = 0  # requests that needed more than one attempt
    refused: dict[str, int] = field(default_factory=dict)  # final 4xx answers, by status
    failures: dict[str, int] = field(default_factory=dict)  # retried causes
    gave_up: int = 0


class Driver:
    """Sends each planned event at its slot; retries connection failures, timeouts, 5xx and
    429 with the same body and idempotency key (a permit's webhook-id, re-signed each time,
    as a Standard Webhooks sender does) until answered 2xx."""

    def __init__(self, http: httpx.AsyncClient, urls: dict[str, str]) -> None:
        self.http, self.urls = http, urls
        # httpx's pool scans its queue on every request: thousands of retries queued there
        # while a service is down would starve the event loop (and the killer with it).
        self.slots = {service: asyncio.Semaphore(IN_FLIGHT) for service in urls}
        self.stats = {k: KindStats() for k in KINDS}
        self.accepted: set[str] = set()
        self.done: dict[int, asyncio.Event] = {}

    async def run(self, planned: Sequence[Planned], rate: float) -> float:
        """Send everything at `rate` per second; seconds until every request finished."""
        self.done = {p.slot: asyncio.Event() for p in planned}
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for p in planned:
            delay = start + p.slot / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self._one(p)))
        await asyncio.gather(*tasks)
        return loop.time() - start

    async def _one(self, p: Planned) -> None:
        try:
            if p.after is not None:
                await self.done[p.after].wait()
            await self._send(p)
        finally:
            self.done[p.slot].set()

    async def _send(self, p: Planned) -> None:
        stats = self.stats[p.kind]
        stats.sent += 1
        service, path, token = ROUTES[p.kind]
        body = json.dumps(body_of(p, wall_now()), ensure_ascii=False).encode()
        began, backoff, attempts = time.monotonic(), 0.2, 0
        while True:
            attempts += 1
            stats.attempts += 1
            headers = self._headers(p, body, token)
            try:
                async with self.slots[service]:
                    answer = await self.http.post(self.urls[service] + path, content=body,
                                                  headers=headers)  # fmt: skip
                status: int | str = answer.status_code
            except httpx.TransportError as exc:
                status = type(exc).__name__
            if isinstance(status, int) and 200 <= status < 300:
                stats.accepted += 1
                stats.retried += attempts > 1
                self.accepted.add(p.id)
                return
            if isinstance(status, int) and 400 <= status < 500 and status != 429:
                stats.refused[str(status)] = stats.refused.get(str(status), 0) + 1
                log.error("%s %s refused: %s %s", p.kind, p.id, status, answer.text[:300])
                return
            stats.failures[str(status)] = stats.failures.get(str(status), 0) + 1
            if time.monotonic() - began > GIVE_UP_SECONDS:
                stats.gave_up += 1
                return
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))  # noqa: S311
            backoff = min(backoff * 2, 3.0)

    @staticmethod
    def _headers(p: Planned, body: bytes, token: str) -> dict[str, str]:
        if p.kind != "permit":
            return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        signed = webhooks.sign([SOURCE_SECRET], f"msg_{p.id}", body)
        return signed | {"X-Hub-Source": SOURCE_ID, "Content-Type": "application/json"}


@dataclass
class Kills:
    """One process's kills: when (seconds after the start of sending) and how long it was
    down until it answered again."""

    name: str
    at: list[float] = field(default_factory=list)
    down_s: list[float] = field(default_factory=list)
    failed_starts: int = 0


def kill_moments(count: int, seconds: float, rng: random.Random) -> list[float]:
    """`count` seeded moments spread over the sending window (not its first or last 3%)."""
    return sorted(rng.uniform(0.03 * seconds, 0.97 * seconds) for _ in range(count))


async def kill_loop(
    kills: Kills,
    moments: Sequence[float],
    kill: Callable[[], None],
    restart: Callable[[], None],
    rng: random.Random,
    pause: tuple[float, float],
) -> None:
    """At each moment (or as soon as the previous restart is done): SIGKILL, a short seeded
    pause, restart, wait until it answers; a start that fails is tried again."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for moment in moments:
        await asyncio.sleep(max(0.0, start + moment - loop.time()))
        killed = loop.time()
        await asyncio.to_thread(kill)
        kills.at.append(round(killed - start, 1))
        await asyncio.sleep(rng.uniform(*pause))
        while True:
            try:
                await asyncio.to_thread(restart)
                break
            except RuntimeError as exc:
                kills.failed_starts += 1
                log.error("%s did not come back, starting again: %s", kills.name, exc)
                await asyncio.sleep(1.0)
        kills.down_s.append(round(loop.time() - killed, 1))


async def read_topic(bootstrap: str, topic: str, timeout: float = 120) -> list[TopicRecord]:
    """Every record of `topic` from its beginning to its current end."""
    ends = await bench_offsets.end_offsets(bootstrap, [topic])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: list[TopicRecord] = []
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        remaining = {tp for tp, end in ends.items() if end > 0}
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                raise RuntimeError(f"could not read {topic} to its end")
            got = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for tp, records in got.items():
                out += [_record(r.headers, r.value) for r in records if r.offset < ends[tp]]
                if records and records[-1].offset >= ends[tp] - 1:
                    remaining.discard(tp)
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
    return out


def _record(headers: Sequence[tuple[str, bytes]], value: bytes | None) -> TopicRecord:
    h = {k: v.decode() for k, v in headers}
    try:
        data: dict[str, Any] = json.loads(value or b"{}")
    except ValueError:
        data = {}
    ce_id, ce_type = h.get("ce_id", ""), h.get("ce_type", "")
    if "alert_id" in data:
        s = data.get("subject", {})
        sid = s.get("permit_no") if data.get("kind") == "project_not_enrolled" else None
        sid = sid or s.get("report_id") or s.get("diagnosis_id") or s.get("uscc") or ""
        return TopicRecord(ce_id, ce_type, str(sid), str(data["alert_id"]), str(data["kind"]))
    for key in ("enrollment_id", "report_id", "diagnosis_id", "permit_no"):
        if key in data:
            return TopicRecord(ce_id, ce_type, str(data[key]))
    return TopicRecord(ce_id, ce_type, "")
