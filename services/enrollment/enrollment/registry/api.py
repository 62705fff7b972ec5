"""HTTP edge of the coverage registry (docs/interfaces.md §5): thin routes over service/coverage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from enrollment.registry import coverage
from enrollment.registry import service as registry
from enrollment.registry.schemas import Coverage, EnrollmentIn, EnterpriseIn, FindingIn, TerminateIn
from enrollment.tables import Enrollment, Finding
from hub_shared.storage.uow import Lookup, UnitOfWork
from hub_shared.web.auth import Principal, scoped
from hub_shared.web.dependencies import runtime_of
from hub_shared.web.http import json_model
from hub_shared.web.openapi_docs import json_body

Write = Callable[[UnitOfWork], Awaitable[tuple[int, dict[str, Any]]]]


# Bodies are read in the routes (json_model), after the credential is checked: a body
# declared as a parameter would be read and parsed before any dependency runs.
router = APIRouter(prefix="/v1")


Enterprises = Annotated[Principal, scoped("enterprises:write")]
Enrollments = Annotated[Principal, scoped("enrollments:write")]
Findings = Annotated[Principal, scoped("findings:write")]
CoverageReader = Annotated[Principal, scoped("coverage:read")]


# What a registering write answers besides 201 (errors are added to every /v1 route).
_REPEAT: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same id with the same content again: nothing changed"}
}
_CREATED: dict[int | str, dict[str, Any]] = {201: {"description": "a new enterprise"}}


async def _write(request: Request, work: Write, lookups: Sequence[Lookup] = ()) -> JSONResponse:
    """`work` in a shared transaction (group commit), answered once committed."""
    runtime = runtime_of(request)
    status, body = await runtime.writes.run(work, lookups=lookups)
    return JSONResponse(body, status_code=status)


def _source(request: Request) -> str:
    runtime = runtime_of(request)
    return runtime.source


@router.put(
    "/enterprises/{uscc}",
    tags=["registry"],
    responses=_CREATED,
    summary="Register or update an enterprise",
    openapi_extra=json_body(EnterpriseIn),
)
async def put_enterprise(uscc: str, request: Request, who: Enterprises) -> JSONResponse:
    body = await json_model(request, EnterpriseIn)
    return await _write(
        request, lambda uow: registry.put_enterprise(uow, uscc, body, who, _source(request))
    )


# The write routes are alike in shape: each names its body model, write and lookup key.
@router.post(
    "/enrollments",
    tags=["registry"],
    status_code=201,
    responses=_REPEAT,
    summary="Register an enrollment",
    openapi_extra=json_body(EnrollmentIn),
)
async def post_enrollment(request: Request, who: Enrollments) -> JSONResponse:
    body = await json_model(request, EnrollmentIn)
    return await _write(
        request,
        lambda uow: registry.register_enrollment(uow, body, who, _source(request)),
        [(Enrollment, body.enrollment_id)],
    )


@router.post(
    "/enrollments/{enrollment_id}/terminate",
    tags=["registry"],
    summary="Terminate an enrollment",
    openapi_extra=json_body(TerminateIn),
)
async def terminate(enrollment_id: str, request: Request, who: Enrollments) -> JSONResponse:
    body = await json_model(request, TerminateIn)
    return await _write(
        request,
        lambda uow: registry.terminate_enrollment(
            uow, enrollment_id, body.terminated_on, who, _source(request)
        ),
        [(Enrollment, enrollment_id)],
    )


@router.post(
    "/findings",
    tags=["registry"],
    status_code=201,
    responses=_REPEAT,
    summary="Report an uninsured enterprise",
    openapi_extra=json_body(FindingIn),
)
async def post_finding(request: Request, who: Findings) -> JSONResponse:
    body = await json_model(request, FindingIn)
    return await _write(
        request,
        lambda uow: registry.record_finding(uow, body, who, _source(request)),
        [(Finding, body.finding_id)],
    )


@router.get("/coverage/permits/{permit_no}", tags=["coverage"], response_model=Coverage)
async def permit_coverage(permit_no: str, request: Request, who: CoverageReader) -> Coverage:
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        return await coverage.of_permit(session, permit_no.strip(), who)


@router.get("/coverage/enterprises/{uscc}", tags=["coverage"], response_model=Coverage)
async def enterprise_coverage(uscc: str, request: Request, who: CoverageReader) -> Coverage:
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        return await coverage.of_enterprise(session, uscc.strip().upper(), who)
