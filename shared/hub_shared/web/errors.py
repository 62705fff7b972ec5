"""Errors as RFC 9457 problem+json (docs/interfaces.md §3), mapped only at the HTTP edge."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
FieldError = dict[str, Any]


class HubError(Exception):
    """Base of every error a request can end in; `status` and `title` say how."""

    status = 500
    title = "Internal error"
    slug = "internal"

    def __init__(
        self,
        detail: str = "",
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors)
        self.headers = headers  # sent with the answer (Retry-After on 429)


# One class per problem status, alike by design: the table of statuses is data, not repeated logic.
class BadRequest(HubError):
    status, title, slug = 400, "Malformed request", "malformed"


class Unauthorized(HubError):
    status, title, slug = 401, "Missing or invalid credentials", "unauthorized"


class Forbidden(HubError):
    status, title, slug = 403, "Not allowed", "forbidden"


class NotFound(HubError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(HubError):
    status, title, slug = 409, "Conflicts with an existing record", "conflict"


class PayloadTooLarge(HubError):
    status, title, slug = 413, "Request body too large", "too-large"


class UnsupportedMediaType(HubError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class Unprocessable(HubError):
    status, title, slug = 422, "Validation failed", "validation"


class RateLimited(HubError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class Unavailable(HubError):
    status, title, slug = 503, "Service unavailable", "unavailable"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str = "about:blank",
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://hub.jining.gov.cn/problems/{slug}" if slug != "about:blank" else slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def field_errors(
    exc: ValidationError | RequestValidationError, prefix: tuple[str, ...] = ()
) -> list[FieldError]:
    """Every failing field of a pydantic error, as `{"loc": [...], "msg": "..."}`."""
    out: list[FieldError] = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid"))
        ctx = err.get("ctx") or {}
        if "error" in ctx:  # a ValueError raised by our validators: its text is the message
            msg = str(ctx["error"])
        out.append({"loc": [*prefix, *[str(p) for p in err.get("loc", ())]], "msg": msg})
    return out


def from_validation(exc: ValidationError, prefix: tuple[str, ...] = ("body",)) -> Unprocessable:
    errors = field_errors(exc, prefix)
    return Unprocessable(f"{len(errors)} invalid field(s)", errors)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to problem+json; nothing else leaks (no stack traces, no secrets)."""

    @app.exception_handler(HubError)
    async def _hub(_request: Request, exc: HubError) -> JSONResponse:
        return problem(
            exc.status, exc.title, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem(400, BadRequest.title, "body is not valid JSON", slug="malformed")
        errors = field_errors(exc)
        return problem(
            422,
            Unprocessable.title,
            f"{len(errors)} invalid field(s)",
            slug="validation",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, str(exc.detail), str(exc.detail), headers=headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _exc: ClientDisconnect) -> JSONResponse:
        # Not a fault of ours: the caller closed the connection before its body was in
        # (a dropped upload), so nothing was applied and no one reads the answer.
        log.info("client went away during %s %s; nothing applied", request.method, request.url.path)
        return problem(400, BadRequest.title, "the body was cut off", slug="malformed")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, HubError.title, "the request failed; it was not applied")
