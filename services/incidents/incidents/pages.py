"""The trend report page (server-rendered Jinja2, Apache ECharts) and the vendored static files.

Authentication of the page: a browser cannot send an Authorization header on a plain link,
so the page also accepts the bearer token as the `token` query parameter, once: the
answer then sets it as an HttpOnly, SameSite=Strict cookie (`hub_token`, path /reports)
and later visits need no token in the address. The Authorization header still works. The
page needs the `reports:read` scope and a division the token covers, and embeds only that
division's data (a county sees its own county only in the comparison).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, Cookie, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from hub_shared.auth import Principal, TokenRegistry, client_address
from hub_shared.errors import NotFound
from incidents import trend_data
from incidents.api import RuntimeDep
from incidents.report_queries import TrendQuery

COOKIE: Final = "hub_token"
HERE: Final = Path(__file__).parent
STATIC: Final = HERE / "static"
STATIC_TYPES: Final = {".js": "text/javascript; charset=utf-8", ".txt": "text/plain; charset=utf-8"}

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=HERE / "templates")


def _principal(request: Request, token: str | None, cookie: str | None) -> Principal:
    registry: TokenRegistry = request.app.state.tokens
    header = request.headers.get("authorization")
    client = client_address(request)
    if header:
        return registry.authenticate(header, client)
    given = token or cookie
    return registry.authenticate(f"Bearer {given}" if given else None, client)


@router.get("/reports/trends", response_class=HTMLResponse)
async def trends_page(
    request: Request,
    query: Annotated[TrendQuery, Query()],
    runtime: RuntimeDep,
    token: Annotated[str | None, Query(description="bearer token, once; then a cookie")] = None,
    hub_token: Annotated[str | None, Cookie()] = None,
) -> HTMLResponse:
    """事故发生率趋势: the total vs the target, each key industry, the counties compared."""
    principal = _principal(request, token, hub_token)
    principal.require("reports:read")
    principal.require_division(query.division_code)
    report = await trend_data.trend_report(
        sessions=runtime.sessions,
        division_code=query.division_code,
        from_year=query.from_year,
        to_year=query.to_year,
    )
    response = templates.TemplateResponse(
        request, "trends.html", {"report": report.as_dict(), "years": list(report.years)}
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the address may carry the token
    if token:
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", path="/reports", max_age=8 * 3600
        )
    return response


@router.get("/static/{name}", include_in_schema=False)
async def static_file(name: str) -> FileResponse:
    """The vendored files (echarts.min.js and its licenses): names listed, nothing else."""
    path = STATIC / name
    if "/" in name or path.suffix not in STATIC_TYPES or not path.is_file():
        raise NotFound(f"no static file {name}")
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=86400"},
    )
