"""What the hub's plain ASGI middlewares (metrics, tracing, audit) learn of an exchange.

They are plain ASGI, not Starlette's BaseHTTPMiddleware, which runs every request in a task
group with memory streams; so each wraps `send` to see the answer go by.
"""

from __future__ import annotations

from starlette.types import Message, Scope, Send


class NotedStatus:
    """`send`, noting the status the app answered (500 until it starts an answer)."""

    def __init__(self, send: Send) -> None:
        self.code = 500
        self._send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.code = message["status"]
        await self._send(message)


def route_template(scope: Scope) -> str | None:
    """The matched route's path template (`/v1/permits/{permit_no}`), never the raw path;
    None when no route matched. Read after the app ran: routing sets it."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else None
