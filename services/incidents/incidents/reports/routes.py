"""Routes of the trend and floating-rate reports: JSON/CSV under /v1, the HTML page, /static.

One router (`router`) holds them all, so that app.py includes it with one line.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from hub_shared.web.auth import CurrentPrincipal
from hub_shared.web.dependencies import RuntimeDep
from hub_shared.web.openapi_docs import answered_as
from incidents.api import can_read_reports
from incidents.incidence import data as incidence_data
from incidents.reports import advice, page_links, pages, trend_data
from incidents.reports.queries import FloatingRateQuery, TrendQuery

router = APIRouter()
api = APIRouter(prefix="/v1/reports", tags=["reports"])


# The same report as the HTML page (pages.trends_page), as JSON: each route checks its own
# credentials (bearer here, token or cookie there) before the one call they share.
@api.get(
    "/trends",
    dependencies=[Depends(can_read_reports)],
)
async def get_trends(
    query: Annotated[TrendQuery, Query()], principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    """Accident rate per key industry and year vs 2020 and the 20% target; disease incidence."""
    principal.require_division(query.division_code)
    report, incidence = await incidence_data.trends_with_incidence(
        sessions=runtime.sessions, query=query
    )
    return JSONResponse(report.as_dict() | {"occupational_disease": incidence.as_dict()})


# Alike in shape to get_trends and the key-industry report route: each checks the
# division, then calls its own report.
@api.get(
    "/floating-rates",
    response_model=None,
    responses={
        **answered_as("floating-rate suggestions per employer", "application/json", "text/csv"),
    },
    dependencies=[Depends(can_read_reports)],
)
async def get_floating_rates(
    query: Annotated[FloatingRateQuery, Query()], principal: CurrentPrincipal, runtime: RuntimeDep
) -> Response:
    """Per employer: risk class, base rate, injury rate vs its industry, a suggested tier."""
    principal.require_division(query.division_code)
    report = await trend_data.floating_rates(
        sessions=runtime.sessions, division_code=query.division_code, year=query.year
    )
    if query.format == "csv":
        filename = f"floating-rates-{query.division_code}-{query.year}.csv"
        return Response(
            advice.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return JSONResponse(report.as_dict())


router.include_router(api)
router.include_router(pages.router)
router.include_router(page_links.router)
from incidents.reports import submission  # noqa: E402, F401  (adds its routes to router)
