"""HTTP edge helpers: body size limits, media types, JSON bodies parsed into models."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub_shared.web.errors import (
    BadRequest,
    FieldError,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    from_validation,
    problem,
)

MiB = 1024 * 1024
BODY_LIMIT = 1 * MiB
BULK_BODY_LIMIT = 64 * MiB
M = TypeVar("M", bound=BaseModel)


# The bulk endpoints, exactly: any other route, whatever its path ends with, gets 1 MiB.
BULK_ROUTES = frozenset({("POST", "/v1/permits:batch"), ("POST", "/v1/enterprises:import")})


def _limit_for(method: str, path: str) -> int:
    return BULK_BODY_LIMIT if (method, path.rstrip("/")) in BULK_ROUTES else BODY_LIMIT


class BodyLimit:
    """Refuse bodies over 1 MiB (64 MiB on the bulk routes) with 413: before reading them when
    Content-Length says so, else (a chunked upload) as soon as the bytes read pass the limit.
    Bodies are read by routes after authentication, so the 413 comes after it too. A URL
    holding NUL (U+0000), which no database text can store, is refused here with 400."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            detail = "the URL must not contain the NUL character (U+0000)"
            await problem(400, BadRequest.title, detail, slug="malformed")(scope, receive, send)
            return
        limit = _limit_for(scope["method"], scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(scope, receive, send, limit)
            return
        received, started = 0, False

        async def capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # A HubError: the route's error handler answers 413 problem+json.
                    raise PayloadTooLarge(_too_large_detail(limit))
            return message

        async def noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped, noting_start)
        except PayloadTooLarge:
            if started:
                raise
            await _too_large(scope, receive, send, limit)  # raised outside a route


def _too_large_detail(limit: int) -> str:
    return f"the body may be at most {limit // MiB} MiB"


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = problem(413, PayloadTooLarge.title, _too_large_detail(limit), slug="too-large")
    await response(scope, receive, send)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def require_media_type(request: Request, *allowed: str) -> str:
    found = media_type(request)
    if found not in allowed:
        raise UnsupportedMediaType(
            f"Content-Type must be {' or '.join(allowed)}, not {found or 'missing'}"
        )
    return found


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc


NUL_MESSAGE = "must not contain the NUL character (U+0000)"


def nul_paths(data: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Where a JSON value holds U+0000 in a string (a key or a value). PostgreSQL cannot
    store it in text, so it is refused at the edge, before anything is written or sent."""
    if isinstance(data, str):
        return [path] if "\x00" in data else []
    if isinstance(data, dict):
        found = [(*path, key) for key in data if isinstance(key, str) and "\x00" in key]
        for key, value in data.items():
            found += nul_paths(value, (*path, str(key)))
        return found
    if isinstance(data, list):
        return [p for index, item in enumerate(data) for p in nul_paths(item, (*path, str(index)))]
    return []


def parse_model(model: type[M], data: Any, prefix: tuple[str, ...] = ("body",)) -> M:
    """Validate data into a model; 422 listing every failing field otherwise."""
    nul: list[FieldError] = [
        {"loc": [*prefix, *path], "msg": NUL_MESSAGE} for path in nul_paths(data)
    ]
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        refused = from_validation(exc, prefix)
        if not nul:
            raise refused from exc
        errors = [*refused.errors, *nul]
        raise Unprocessable(f"{len(errors)} invalid field(s)", errors) from exc
    if nul:
        raise Unprocessable(f"{len(nul)} invalid field(s)", nul)
    return parsed


async def json_model(request: Request, model: type[M]) -> M:
    """A JSON request body as a model: 415, 400 or 422 as docs/interfaces.md §3 says."""
    require_media_type(request, "application/json")
    return parse_model(model, parse_json(await request.body()))
