"""An ASGI app behind a real uvicorn server on 127.0.0.1, inside the test's event loop
(what streams and webhook receivers need: httpx's ASGI transport waits for whole bodies)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from tests.support.hub import wait_for


@asynccontextmanager
async def uvicorn_server(app: Any, port: int, **options: Any) -> AsyncIterator[uvicorn.Server]:
    """Start uvicorn, wait (bounded) until it listens, and stop it on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            await task
            raise RuntimeError("uvicorn stopped before it started")
        return bool(server.started)

    await wait_for(started, timeout=15, what=f"uvicorn on port {port}")
    try:
        yield server
    finally:
        server.should_exit = True
        await task
