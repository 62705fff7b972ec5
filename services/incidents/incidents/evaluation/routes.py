"""GET /v1/reports/evaluation: the plan's mid-term or final evaluation, XLSX or a printable
Chinese page. Authentication as the annual submission (bearer header or `token`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hub_shared.domain import divisions
from hub_shared.web.dependencies import RuntimeDep
from hub_shared.web.openapi_docs import answered_as
from incidents.evaluation import workbook
from incidents.evaluation.data import evaluation_of
from incidents.evaluation.goals import DEFINITIONS, PERIOD_ZH
from incidents.evaluation.schemas import EvaluationQuery
from incidents.reports import exports, pages
from incidents.reports.page_links import PageCredentialsDep

router = APIRouter(tags=["reports"])


@router.get(
    "/v1/reports/evaluation",
    response_model=None,
    responses=answered_as("the evaluation", "text/html", exports.XLSX_MEDIA_TYPE),
)
async def get_evaluation(
    request: Request, query: Annotated[EvaluationQuery, Query()], runtime: RuntimeDep,
    credentials: PageCredentialsDep,
) -> Response:  # fmt: skip
    """中期/总结评估: the three goals against their targets, per county and for the city."""
    await credentials.reader(query.division_code)  # no session: its cookie is for /reports
    evaluation = await evaluation_of(
        sessions=runtime.sessions, division_code=query.division_code, year=query.year
    )
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if query.format == "xlsx":
        name = f"evaluation-{query.division_code}-{query.period}.xlsx"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        content = workbook.to_xlsx(evaluation, query.period)
        return Response(content, media_type=exports.XLSX_MEDIA_TYPE, headers=headers)
    context = {
        "title": f"{divisions.name_of(query.division_code)}工伤预防工作{PERIOD_ZH[query.period]}",
        "year": query.year,
        "goal_headers": workbook.GOAL_HEADERS,
        "goal_rows": [workbook.goal_cells(r) for r in evaluation.goals.as_dict()["rows"]],
        "definitions": DEFINITIONS,
        "tables": [
            (
                t.year,
                [
                    [r.industry_zh]
                    + [workbook.shown(r.as_dict()[f]) for f in workbook.TABLE_FIELDS]
                    for r in (*t.rows, t.total)
                ],
            )
            for t in (evaluation.baseline_table, evaluation.year_table)
        ],
        "table_headers": workbook.TABLE_HEADERS,
        "inspection_headers": workbook.INSPECTION_HEADERS,
        "inspections": workbook.inspection_lines(evaluation.inspections),
        "notes": workbook.ALL_NOTES,
    }
    response = pages.templates.TemplateResponse(request, "evaluation.html", context)
    response.headers.update(headers)
    return response
