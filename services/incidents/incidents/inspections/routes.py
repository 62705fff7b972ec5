"""Routes of joint inspections: record, look up, rectify, and the report (JSON, CSV, page)."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from hub_shared import clock
from hub_shared.domain import divisions
from hub_shared.web.auth import CurrentPrincipal
from hub_shared.web.dependencies import RuntimeDep
from hub_shared.web.errors import NotFound
from hub_shared.web.http import json_model
from hub_shared.web.openapi_docs import answered_as, json_body
from incidents.api import can_read_reports
from incidents.inspections import data, intake
from incidents.inspections.kinds import DEPARTMENTS_ZH, FINDING_KINDS_ZH
from incidents.inspections.schemas import (
    FindingOut,
    InspectionIn,
    InspectionOut,
    InspectionReportQuery,
    RectificationIn,
)
from incidents.inspections.tables import IncidentsInspection, IncidentsInspectionFinding
from incidents.reports import pages
from incidents.reports.page_links import PageCredentialsDep

router = APIRouter(tags=["inspections"])


def can_write_inspections(principal: CurrentPrincipal) -> None:
    principal.require("inspections:write")


def finding_out(row: IncidentsInspectionFinding) -> FindingOut:
    return FindingOut(
        finding_id=row.finding_id,
        inspection_id=row.inspection_id,
        kind=row.kind,
        kind_zh=FINDING_KINDS_ZH.get(row.kind, row.kind),
        description=row.description,
        deadline=row.deadline,
        responsible_department=row.responsible_department,
        division_code=row.division_code,
        enterprise_uscc=row.enterprise_uscc,
        enterprise_name=row.enterprise_name,
        status=intake.status_of(row, clock.today()),
        rectified_on=row.rectified_on,
        rectification_evidence=row.rectification_evidence,
        overdue_alert_id=row.overdue_alert_id,
    )


def inspection_out(
    row: IncidentsInspection, findings: list[IncidentsInspectionFinding]
) -> InspectionOut:
    return InspectionOut(
        inspection_id=row.inspection_id,
        inspected_on=row.inspected_on,
        departments=row.departments.split(","),
        enterprise_uscc=row.enterprise_uscc,
        enterprise_name=row.enterprise_name,
        division_code=row.division_code,
        industry_code=row.industry_code,
        received_at=clock.as_utc(row.received_at),
        findings=[finding_out(f) for f in findings],
    )


@router.post(
    "/v1/inspections", status_code=201,
    dependencies=[Depends(can_write_inspections)], openapi_extra=json_body(InspectionIn),
)  # fmt: skip
async def post_inspection(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, response: Response
) -> InspectionOut:
    """Record a joint inspection (联合检查) and its findings, each with a deadline."""
    report = await json_model(request, InspectionIn)
    principal.require_division(report.division_code)
    row, created = await intake.accept_inspection(
        writes=runtime.writes, report=report, reported_by=principal.id, source=runtime.source
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/inspections/{row.inspection_id}"
    findings = await intake.findings_of(runtime.sessions, row.inspection_id)
    return inspection_out(row, list(findings))


@router.get("/v1/inspections/{inspection_id}")
async def get_inspection(
    inspection_id: str, principal: CurrentPrincipal, runtime: RuntimeDep
) -> InspectionOut:
    """One inspection with its findings' states (404 outside the caller's divisions)."""
    if not principal.scopes & {"inspections:write", "reports:read", "admin"}:
        principal.require("inspections:write")
    async with runtime.sessions() as session:
        row = await session.get(IncidentsInspection, inspection_id)
    if row is None or not divisions.covers_any(principal.divisions, row.division_code):
        raise NotFound(f"no inspection {inspection_id}")
    return inspection_out(row, list(await intake.findings_of(runtime.sessions, inspection_id)))


# Alike in shape to post_inspection: each route reads its own body and calls its own
# intake function (a rectification is checked against the finding's division).
@router.post(
    "/v1/inspection-findings/{finding_id}/rectification",
    dependencies=[Depends(can_write_inspections)], openapi_extra=json_body(RectificationIn),
)  # fmt: skip
async def post_rectification(
    finding_id: str, request: Request, principal: CurrentPrincipal, runtime: RuntimeDep
) -> FindingOut:
    """整改: close a finding with its evidence; resolves its overdue alert."""
    rectification = await json_model(request, RectificationIn)
    # Keyword calls alike in shape to other call sites: named arguments, not logic.
    finding, changed = await intake.rectify(
        sessions=runtime.sessions,
        finding_id=finding_id,
        rectification=rectification,
        rectified_by=principal.id,
        divisions=principal.divisions,
        source=runtime.source,
    )
    if changed:
        runtime.relay.notify()
    return finding_out(finding)


CSV_FIELDS = ("division_code", "year", "industry", "industry_zh", "inspections", "findings",
              "rectified_on_time", "rectified_late", "open", "overdue", "on_time_rate")  # fmt: skip


@router.get(
    "/v1/reports/inspections", response_model=None,
    responses=answered_as("the inspection report", "application/json", "text/csv"),
    dependencies=[Depends(can_read_reports)], tags=["reports"],
)  # fmt: skip
async def get_inspection_report(
    query: Annotated[InspectionReportQuery, Query()],
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
) -> Response:
    """Inspections and findings per key industry and county: on time, late, open."""
    principal.require_division(query.division_code)
    report = await data.report_of(
        sessions=runtime.sessions, division_code=query.division_code, year=query.year
    )
    body = report.as_dict()
    if query.format == "json":
        return JSONResponse(body)
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\r\n"
    )
    writer.writeheader()
    head = {"division_code": query.division_code, "year": query.year}
    for row in (*body["rows"], body["total"]):
        writer.writerow(head | {k: "" if v is None else v for k, v in row.items()})
    name = f"inspections-{query.division_code}-{query.year}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/reports/inspections", response_class=HTMLResponse, tags=["pages"])
async def inspections_page(
    request: Request, query: Annotated[InspectionReportQuery, Query()], runtime: RuntimeDep,
    credentials: PageCredentialsDep,
) -> HTMLResponse:  # fmt: skip
    """联合检查整改情况: the record per industry and county, and every open finding."""
    reader = await credentials.reader(query.division_code)
    report = await data.report_of(
        sessions=runtime.sessions, division_code=query.division_code, year=query.year
    )
    today = clock.today()
    open_rows = await data.open_findings(
        sessions=runtime.sessions, division_code=query.division_code
    )
    context = {
        "report": report.as_dict(),
        "findings": [finding_out(f).model_dump(mode="json") for f in open_rows],
        "departments": DEPARTMENTS_ZH,
        "today": today.isoformat(),
        "division_names": {code: divisions.name_of(code) for code in divisions.county_codes()},
    }
    return await pages.render(request, reader, "inspections.html", context)
