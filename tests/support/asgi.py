"""Calling an app at the ASGI level: repeated headers, chunked bodies, and whether the app
read the body at all (httpx can send neither a body it watches nor repeated headers)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.types import Message

from hub_shared.config import ServiceName
from tests.support.hub import settings_for, write_config


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    reads: int  # how many body chunks the app asked for
    sent: list[Message] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    app: FastAPI,
    method: str,
    path: str,
    headers: Sequence[tuple[str, str]] = (),
    chunks: Sequence[bytes] = (),
    *,
    hang_up: bool = False,
) -> Answer:
    """One request; `chunks` arrive as separate `http.request` messages, like a chunked
    upload, and no Content-Length is added unless `headers` has one. With `hang_up` the
    client disconnects after the chunks, the body unfinished."""
    pending, reads, sent = list(chunks), 0, []

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        if pending:
            more = bool(pending[1:]) or hang_up
            return {"type": "http.request", "body": pending.pop(0), "more_body": more}
        if hang_up:
            return {"type": "http.disconnect"}
        if reads == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client waits for the answer
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path.split("?")[0],
        "raw_path": path.split("?")[0].encode(),
        "query_string": path.partition("?")[2].encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("hub.test", 80),
    }
    async with asyncio.timeout(20):
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    found = {k.decode(): v.decode() for k, v in start["headers"]}
    return Answer(start["status"], found, body, reads, sent)


def app_of(
    service: ServiceName, tmp_path: Path, extra_config: str = "", bootstrap: str = "127.0.0.1:9"
) -> FastAPI:
    """A service's app on its own SQLite file (and no broker, by default); not started, enough
    for what is refused before any I/O (start it with `tests.support.hub.running`)."""
    from enrollment.app import create_app as enrollment_app
    from incidents.app import create_app as incidents_app
    from notifier.app import create_app as notifier_app
    from permit_ingest.app import create_app as ingest_app

    config = write_config(tmp_path / "hub.toml")
    config.write_text(config.read_text(encoding="utf-8") + extra_config, encoding="utf-8")
    settings = settings_for(
        service,
        config=config,
        bootstrap=bootstrap,
        database_url=f"sqlite+aiosqlite:///{tmp_path / f'{service}.db'}",
        data_dir=tmp_path,
    )
    factories = {
        "permit-ingest": ingest_app,
        "enrollment": enrollment_app,
        "incidents": incidents_app,
        "notifier": notifier_app,
    }
    return factories[service](settings)
