"""Who opens a report page or a download: no bearer token ever travels in an address.

An API client (bearer header, `reports:read`) asks `POST /v1/reports/links` for a link
id: opaque, valid 5 minutes, good for one page or download (hub_shared.web.web_sessions).
Opening the trend page with `?link=` starts a server-side session whose opaque id the
page's HttpOnly, SameSite=Strict cookie (`hub_reports_session`, path /reports) holds, so
reloading it needs no link. The Authorization header works everywhere too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Cookie, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from hub_shared.runtime import ServiceRuntime
from hub_shared.web.auth import CurrentPrincipal, Principal, TokenRegistry, client_address
from hub_shared.web.errors import Unauthorized
from hub_shared.web.web_sessions import LINK_LIFETIME, open_session, resolve, secure_cookies

COOKIE: Final = "hub_reports_session"
router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.post("/links", status_code=201)
async def create_link(request: Request, principal: CurrentPrincipal) -> JSONResponse:
    """A one-use link id for `/reports/trends?link=…` or
    `/v1/reports/annual-submission?link=…`, valid 5 minutes. Scope `reports:read`."""
    principal.require("reports:read")
    runtime: ServiceRuntime = request.app.state.runtime
    link = await open_session(runtime.sessions, principal, "link")
    body: dict[str, Any] = {"link": link, "expires_in": int(LINK_LIFETIME.total_seconds())}
    return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})


async def page_principal(
    request: Request, link: str | None, cookie: str | None
) -> tuple[Principal, bool]:
    """The caller, and whether it came by a link (the page then starts a session)."""
    registry: TokenRegistry = request.app.state.tokens
    header = request.headers.get("authorization")
    if header:
        return registry.authenticate(header, client_address(request)), False
    runtime: ServiceRuntime = request.app.state.runtime
    if link:
        principal = await resolve(runtime.sessions, registry, link, "link")
        if principal is None:
            raise Unauthorized("the link is unknown, used or expired; ask for a new one")
        return principal, True
    principal = await resolve(runtime.sessions, registry, cookie, "session")
    if principal is None:
        raise Unauthorized("an Authorization: Bearer <token> header or a link is required")
    return principal, False


async def start_session(request: Request, response: Response, principal: Principal) -> None:
    runtime: ServiceRuntime = request.app.state.runtime
    response.set_cookie(
        COOKIE,
        await open_session(runtime.sessions, principal),
        httponly=True,
        samesite="strict",
        path="/reports",
        max_age=8 * 3600,
        secure=secure_cookies(request),
    )


# Small records alike in shape to others (advice.py's): each holds its own two fields.
@dataclass(frozen=True)
class PageReader:
    """Who opens a page, checked; `by_link` when a one-use link brought it (start_session)."""

    principal: Principal
    by_link: bool


@dataclass(frozen=True)
class PageCredentials:
    """What a page request carries to say who sends it: read here, checked by `reader`."""

    request: Request
    link: str | None
    cookie: str | None

    async def reader(self, division_code: str) -> PageReader:
        """The caller, with the `reports:read` scope and covering `division_code`."""
        principal, by_link = await page_principal(self.request, self.link, self.cookie)
        principal.require("reports:read")
        principal.require_division(division_code)
        return PageReader(principal, by_link)


def _credentials(
    request: Request,
    link: Annotated[str | None, Query(description="a link id from POST /v1/reports/links")] = None,
    hub_reports_session: Annotated[str | None, Cookie()] = None,
) -> PageCredentials:
    # Reads only: a dependency runs before the route's query is validated, and a page
    # answers a bad query with 422 before it looks at who asks.
    return PageCredentials(request, link, hub_reports_session)


PageCredentialsDep = Annotated[PageCredentials, Depends(_credentials)]
