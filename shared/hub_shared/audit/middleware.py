"""Records every exchange over HTTP in the audit trail: who (the client, office or source),
what (method and route template, the ids in the route, a SHA-256 of the body exchanged),
when, and the outcome (the status). Never the body itself, never a query string: ids in
routes are permit numbers, enterprise codes and report ids, not people.

A plain ASGI middleware (see hub_shared.metrics for why not BaseHTTPMiddleware); recording
only queues the entry, so a request never waits on the audit table.
"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub_shared.audit.trail import AuditTrail
from hub_shared.web.asgi import NotedStatus, route_template
from hub_shared.web.auth import TokenRegistry
from hub_shared.web.errors import Unauthorized

AUDITED_PREFIXES = ("/v1/", "/dashboard")
NOT_AUDITED_PREFIXES = ("/dashboard/static",)
OFFICE_COOKIE = "hub_office_token"  # the dashboard's session cookie (notifier)


def audited(path: str) -> bool:
    return path.startswith(AUDITED_PREFIXES) and not path.startswith(NOT_AUDITED_PREFIXES)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie") or ""
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


def actor_of(scope: Scope, tokens: TokenRegistry, sources: frozenset[str]) -> str:
    """Who is calling, by the credential it presents (never the credential itself)."""
    authorization = _header(scope, b"authorization")
    cookie = _cookie(scope, OFFICE_COOKIE)
    if authorization or cookie:
        try:
            return tokens.authenticate(authorization or f"Bearer {cookie}").id
        except Unauthorized:
            return "unauthenticated"
    source = _header(scope, b"x-hub-source")
    if source is not None:
        return f"source:{source}" if source in sources else "unknown-source"
    return "anonymous"


def resource_of(scope: Scope) -> str:
    params = scope.get("path_params") or {}
    return ";".join(f"{k}={v}" for k, v in sorted(params.items()))


class AuditExchanges:
    def __init__(
        self, app: ASGIApp, trail: AuditTrail, tokens: TokenRegistry, sources: frozenset[str]
    ) -> None:
        self._app = app
        self._trail = trail
        self._tokens = tokens
        self._sources = sources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not audited(scope["path"]):
            await self._app(scope, receive, send)
            return
        sent_body, received_body = hashlib.sha256(), hashlib.sha256()
        received = False

        async def receive_hashing() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request" and message.get("body"):
                received = True
                received_body.update(message["body"])
            return message

        async def send_hashing(message: Message) -> None:
            if message["type"] == "http.response.body":
                sent_body.update(message.get("body", b""))
            await send(message)

        status = NotedStatus(send_hashing)
        try:
            await self._app(scope, receive_hashing, status)
        finally:
            route = route_template(scope) or "unmatched"
            self._trail.record(
                actor=actor_of(scope, self._tokens, self._sources),
                operation=f"{scope['method']} {route}",
                resource=resource_of(scope),
                # What was handed in for a write, what was handed out for a read.
                content_hash=(received_body if received else sent_body).hexdigest(),
                outcome=str(status.code),
            )
