"""Routes of key-personnel training: the register, completions (REST and signed webhook),
the coverage report (JSON, CSV, XLSX) and its page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from hub_shared.web import webhooks
from hub_shared.web.auth import CurrentPrincipal
from hub_shared.web.dependencies import RuntimeDep
from hub_shared.web.http import json_model, parse_json, parse_model, require_media_type
from hub_shared.web.openapi_docs import answered_as, json_body
from incidents.api import PiiDep, can_read_reports
from incidents.reports import pages
from incidents.reports.exports import XLSX_MEDIA_TYPE
from incidents.reports.page_links import PageCredentialsDep
from incidents.training import data, exports, intake
from incidents.training.roles import ROLES_ZH
from incidents.training.schemas import (
    CompletionIn,
    CompletionOut,
    CoverageQuery,
    KeyPersonIn,
    KeyPersonOut,
)
from incidents.training.tables import IncidentsKeyPerson, IncidentsTrainingCompletion

router = APIRouter(tags=["training"])


def can_write_training(principal: CurrentPrincipal) -> None:
    principal.require("training:write")


def person_out(row: IncidentsKeyPerson, trained: bool) -> KeyPersonOut:
    return KeyPersonOut(
        roster_id=row.roster_id, enterprise_uscc=row.enterprise_uscc,
        enterprise_name=row.enterprise_name, division_code=row.division_code,
        industry_code=row.industry_code, role=row.role, person_id_masked=row.person_id_masked,
        person_digest=row.person_digest, person_name_masked=row.person_name_masked,
        listed_on=row.listed_on, trained=trained,
    )  # fmt: skip


def completion_out(row: IncidentsTrainingCompletion) -> CompletionOut:
    return CompletionOut(
        completion_id=row.completion_id, person_id_masked=row.person_id_masked,
        person_digest=row.person_digest, course=row.course, hours=row.hours,
        completed_on=row.completed_on, trainer=row.trainer, channel=row.channel,
    )  # fmt: skip


@router.post(
    "/v1/key-personnel", status_code=201,
    dependencies=[Depends(can_write_training)], openapi_extra=json_body(KeyPersonIn),
)  # fmt: skip
async def post_key_person(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, pii: PiiDep,
    response: Response,
) -> KeyPersonOut:  # fmt: skip
    """Register a key person (分管负责人, 安全管理部门主要负责人 or 一线班组长) of an enterprise."""
    person = await json_model(request, KeyPersonIn)
    principal.require_division(person.division_code)
    row, created = await intake.register_person(
        writes=runtime.writes, person=person, key=pii.key, by=principal.id
    )
    if not created:
        response.status_code = 200
    trained = await intake.is_trained(runtime.sessions, [row.person_digest])
    return person_out(row, row.person_digest in trained)


# Alike in shape to post_key_person: each route translates its own body model and
# division rule (a completion names no division) to its own intake function.
@router.post(
    "/v1/training-completions", status_code=201,
    dependencies=[Depends(can_write_training)], openapi_extra=json_body(CompletionIn),
)  # fmt: skip
async def post_completion(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, pii: PiiDep,
    response: Response,
) -> CompletionOut:  # fmt: skip
    """An offline trainer's completion (technical schools, the expert pool)."""
    completion = await json_model(request, CompletionIn)
    row, created = await intake.accept_completion(
        writes=runtime.writes, completion=completion, key=pii.key, by=principal.id,
        channel="offline",
    )  # fmt: skip
    if not created:
        response.status_code = 200
    return completion_out(row)


@router.post(
    "/v1/webhooks/training-completions", status_code=201,
    summary="Receive a training platform's completion (Standard Webhooks)",
    openapi_extra=json_body(CompletionIn),
)  # fmt: skip
async def post_completion_webhook(
    request: Request, runtime: RuntimeDep, pii: PiiDep, response: Response
) -> CompletionOut:
    """Signed like permits: `X-Hub-Source` names a configured source of kind `training`."""
    received = await webhooks.receive(request, runtime.settings.hub.sources, "training")
    require_media_type(request, "application/json")
    completion = parse_model(CompletionIn, parse_json(received.body))
    row, created = await intake.accept_completion(
        writes=runtime.writes, completion=completion, key=pii.key,
        by=f"source:{received.source.id}", channel="platform",
    )  # fmt: skip
    if not created:
        response.status_code = 200
    return completion_out(row)


@router.get(
    "/v1/reports/training-coverage", response_model=None,
    responses=answered_as(
        "training coverage", "application/json", "text/csv", XLSX_MEDIA_TYPE
    ),
    dependencies=[Depends(can_read_reports)], tags=["reports"],
)  # fmt: skip
async def get_coverage(
    query: Annotated[CoverageQuery, Query()], principal: CurrentPrincipal, runtime: RuntimeDep
) -> Response:
    """Key personnel, trained, coverage and the gap per key industry, county and role."""
    principal.require_division(query.division_code)
    report, trend = await data.coverage_of(
        sessions=runtime.sessions, division_code=query.division_code, year=query.year
    )
    name = f"training-coverage-{query.division_code}-{query.year}.{query.format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if query.format == "csv":
        return Response(exports.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers=disposition)  # fmt: skip
    if query.format == "xlsx":
        return Response(exports.to_xlsx(report), media_type=XLSX_MEDIA_TYPE, headers=disposition)
    return JSONResponse(report.as_dict() | {"years": trend})


# Alike in shape to pages.trends_page: who may open a page is checked once
# (PageCredentials.reader) and the page rendered once (pages.render); each loads its report.
@router.get("/reports/training", response_class=HTMLResponse, tags=["pages"])
async def training_page(
    request: Request, query: Annotated[CoverageQuery, Query()], runtime: RuntimeDep,
    credentials: PageCredentialsDep,
) -> HTMLResponse:  # fmt: skip
    """重点人员培训覆盖: charts per industry and county, and the enterprises with gaps."""
    reader = await credentials.reader(query.division_code)
    report, trend = await data.coverage_of(
        sessions=runtime.sessions, division_code=query.division_code, year=query.year
    )
    context = {"report": report.as_dict(), "trend": trend, "roles_zh": ROLES_ZH}
    return await pages.render(request, reader, "training.html", context)
