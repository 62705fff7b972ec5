"""Routes: translate HTTP to a service call and back (docs/interfaces.md §6)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from hub_shared.web.auth import CurrentPrincipal
from hub_shared.web.dependencies import RuntimeDep
from hub_shared.web.errors import NotFound
from hub_shared.web.http import json_model, require_media_type
from hub_shared.web.openapi_docs import answered_as, json_body
from incidents import service
from incidents.incidence import data as incidence_data
from incidents.incidence import exports as incidence_exports
from incidents.pii import PiiKey
from incidents.reports import exports, key_industry_data
from incidents.schemas import AccidentIn, AccidentOut, DiseaseIn, DiseaseOut, ReportQuery

router = APIRouter(prefix="/v1")
Out = TypeVar("Out", AccidentOut, DiseaseOut)

# Besides 201; every /v1 route's problem statuses are added by hub_shared's openapi_docs.
_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same id with the same content: the first answer"},
}


def _pii(request: Request) -> PiiKey:
    pii: PiiKey = request.app.state.pii
    return pii


PiiDep = Annotated[PiiKey, Depends(_pii)]


def require_json(request: Request) -> None:
    """415 unless the body is declared application/json."""
    require_media_type(request, "application/json")


def can_write_accidents(principal: CurrentPrincipal) -> None:
    principal.require("accidents:write")


def can_write_diseases(principal: CurrentPrincipal) -> None:
    principal.require("diseases:write")


def can_read_accidents(principal: CurrentPrincipal) -> None:
    principal.require("accidents:write", "reports:read")


def can_read_reports(principal: CurrentPrincipal) -> None:
    principal.require("reports:read")


def _accepted(result: service.Accepted[Out], *, location: str) -> JSONResponse:
    """201 for a new record, 200 for a repeat."""
    return JSONResponse(
        result.record.model_dump(mode="json"),
        status_code=201 if result.created else 200,
        headers={"Location": location},
    )


def _found(record: Out | None, missing: str) -> Out:
    """The record, or 404 with `missing` as the detail."""
    if record is None:
        raise NotFound(missing)
    return record


@router.post(
    "/accidents",
    status_code=201,
    response_model=AccidentOut,
    responses=_WRITE_RESPONSES,
    dependencies=[Depends(can_write_accidents), Depends(require_json)],
    tags=["accidents"],
    openapi_extra=json_body(AccidentIn),
)
async def post_accident(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    """Accept an accident report; publishes `accident.reported` on accidents.v1."""
    report = await json_model(request, AccidentIn)  # read only once the caller is known
    principal.require_division(report.division_code)
    result = await service.accept_accident(
        writes=runtime.writes, report=report, reported_by=principal.id, source=runtime.source
    )
    return _accepted(result, location=f"/v1/accidents/{report.report_id}")


@router.get(
    "/accidents/{report_id}",
    response_model=AccidentOut,
    dependencies=[Depends(can_read_accidents)],
    tags=["accidents"],
)
async def get_accident(
    report_id: str, principal: CurrentPrincipal, runtime: RuntimeDep
) -> AccidentOut:
    """One accident report (404 when unknown or outside the caller's divisions)."""
    found = await service.get_accident(
        sessions=runtime.sessions, report_id=report_id, divisions=principal.divisions
    )
    return _found(found, f"no accident report {report_id}")


# Alike in shape to post_accident and get_accident: each route translates its own HTTP
# (scopes, body model, PII key) to its own service function.
@router.post(
    "/diseases",
    status_code=201,
    response_model=DiseaseOut,
    responses=_WRITE_RESPONSES,
    dependencies=[Depends(can_write_diseases), Depends(require_json)],
    tags=["diseases"],
    openapi_extra=json_body(DiseaseIn),
)
async def post_disease(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, pii: PiiDep
) -> JSONResponse:
    """Accept a diagnosis; stores and publishes the ID number only masked and digested."""
    report = await json_model(request, DiseaseIn)  # read only once the caller is known
    principal.require_division(report.division_code)
    result = await service.accept_disease(
        writes=runtime.writes,
        sessions=runtime.sessions,
        report=report,
        key=pii.key,
        reported_by=principal.id,
        source=runtime.source,
        divisions=principal.divisions,
    )
    return _accepted(result, location=f"/v1/diseases/{report.diagnosis_id}")


@router.get(
    "/diseases/{diagnosis_id}",
    response_model=DiseaseOut,
    dependencies=[Depends(can_write_diseases)],
    tags=["diseases"],
)
async def get_disease(
    diagnosis_id: str, principal: CurrentPrincipal, runtime: RuntimeDep
) -> DiseaseOut:
    """One diagnosis, with `repeat_of`: the same person's earlier diagnoses."""
    found = await service.get_disease(
        sessions=runtime.sessions, diagnosis_id=diagnosis_id, divisions=principal.divisions
    )
    return _found(found, f"no diagnosis {diagnosis_id}")


@router.get(
    "/reports/key-industries",
    response_model=None,
    responses={
        **answered_as(
            "the key-industry table (重点行业企业基本情况表)",
            "application/json",
            "text/csv",
            exports.XLSX_MEDIA_TYPE,
        ),
    },
    dependencies=[Depends(can_read_reports)],
    tags=["reports"],
)
async def get_key_industries(
    query: Annotated[ReportQuery, Query()], principal: CurrentPrincipal, runtime: RuntimeDep
) -> Response:
    """The plan's attached table for a division and year, as JSON, CSV or XLSX."""
    principal.require_division(query.division_code)
    report = await key_industry_data.key_industry_report(
        sessions=runtime.sessions, division_code=query.division_code, year=query.year
    )
    incidence = await incidence_data.incidence_table_of(
        sessions=runtime.sessions, division_code=query.division_code, year=query.year
    )
    filename = f"key-industries-{query.division_code}-{query.year}.{query.format}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if query.format == "csv":
        return Response(
            incidence_exports.add_to_csv(exports.to_csv(report), incidence),
            media_type="text/csv; charset=utf-8",
            headers=disposition,
        )
    if query.format == "xlsx":
        return Response(
            incidence_exports.add_to_xlsx(exports.to_xlsx(report), incidence),
            media_type=exports.XLSX_MEDIA_TYPE,
            headers=disposition,
        )
    return JSONResponse(report.as_dict() | {"occupational_disease": incidence.as_dict()})
