"""An office's webhook receiver, run inside the test on 127.0.0.1."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.processes import free_port
from tests.support.servers import uvicorn_server


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0  # answer this many requests with 503 first

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        if self.fail_next > 0:
            self.fail_next -= 1
            return Response(status_code=503)
        self.received.append(Received({k.lower(): v for k, v in request.headers.items()}, body))
        return Response(status_code=204)


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(port=free_port())
    app = Starlette(routes=[Route("/alerts", receiver._handle, methods=["POST"])])
    async with uvicorn_server(app, receiver.port, lifespan="off"):
        yield receiver
