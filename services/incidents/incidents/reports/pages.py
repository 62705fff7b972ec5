"""The trend report page (server-rendered Jinja2, Apache ECharts) and the vendored static files.

Authentication of the page (page_links.py): the Authorization header, a one-use link id
from POST /v1/reports/links (`?link=`, which starts a server-side session held by an
HttpOnly cookie), or that session's cookie; never a token in the address. The page needs
the `reports:read` scope and a division the caller covers, and embeds only that
division's data (a county sees its own county only in the comparison).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from hub_shared.web.dependencies import RuntimeDep
from hub_shared.web.errors import NotFound
from incidents.evaluation.context import goals_context
from incidents.incidence import data as incidence_data
from incidents.reports.page_links import PageCredentialsDep, PageReader, start_session
from incidents.reports.queries import TrendQuery

HERE: Final = Path(__file__).parent
STATIC: Final = HERE / "static"
STATIC_TYPES: Final = {".js": "text/javascript; charset=utf-8", ".txt": "text/plain; charset=utf-8"}

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=HERE / "templates")


@router.get("/reports/trends", response_class=HTMLResponse)
async def trends_page(
    request: Request, query: Annotated[TrendQuery, Query()], runtime: RuntimeDep,
    credentials: PageCredentialsDep,
) -> HTMLResponse:  # fmt: skip
    """事故发生率趋势: the total vs the target, each key industry, the counties compared."""
    reader = await credentials.reader(query.division_code)
    report, incidence = await incidence_data.trends_with_incidence(
        sessions=runtime.sessions, query=query
    )
    context: dict[str, Any] = {"report": report.as_dict(), "years": list(report.years)}
    context["incidence"] = incidence.as_dict()
    context["incidence_chart"] = True
    context |= await goals_context(
        sessions=runtime.sessions, division_code=query.division_code, year=query.to_year
    )
    return await render(request, reader, "trends.html", context)


async def render(
    request: Request, reader: PageReader, template: str, context: dict[str, Any]
) -> HTMLResponse:
    """A report page: never cached, its address (which may carry a link) never sent on; a
    page opened by a one-use link starts the session that reloads it."""
    response = templates.TemplateResponse(request, template, context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    if reader.by_link:
        await start_session(request, response, reader.principal)
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
