"""HTTP edge of the coverage registry (CONTRACTS.md §5): thin routes over registry/coverage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment import coverage, registry
from enrollment.schemas import Coverage, EnrollmentIn, EnterpriseIn, FindingIn, TerminateIn
from hub_shared.auth import Principal, scoped
from hub_shared.http import require_media_type
from hub_shared.runtime import ServiceRuntime

Write = Callable[[AsyncSession], Awaitable[tuple[int, dict[str, Any]]]]


def _json_body(request: Request) -> None:
    if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
        require_media_type(request, "application/json")


router = APIRouter(prefix="/v1", dependencies=[Depends(_json_body)])


Enterprises = Annotated[Principal, scoped("enterprises:write")]
Enrollments = Annotated[Principal, scoped("enrollments:write")]
Findings = Annotated[Principal, scoped("findings:write")]
CoverageReader = Annotated[Principal, scoped("coverage:read")]


async def _write(request: Request, work: Write) -> JSONResponse:
    """One transaction; a concurrent insert of the same key is retried once and then seen."""
    runtime: ServiceRuntime = request.app.state.runtime
    for attempt in (1, 2):
        try:
            async with runtime.sessions() as session, session.begin():
                status, body = await work(session)
        except IntegrityError:
            # A concurrent insert of the same key: the retry sees it and answers accordingly.
            if attempt == 2:
                raise
            continue
        runtime.relay.notify()
        return JSONResponse(body, status_code=status)
    raise AssertionError("unreachable")


def _source(request: Request) -> str:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime.source


@router.put("/enterprises/{uscc}", tags=["registry"], summary="Register or update an enterprise")
async def put_enterprise(
    uscc: str, body: EnterpriseIn, request: Request, who: Enterprises
) -> JSONResponse:
    return await _write(
        request, lambda s: registry.put_enterprise(s, uscc, body, who, _source(request))
    )


@router.post("/enrollments", tags=["registry"], status_code=201, summary="Register an enrollment")
async def post_enrollment(body: EnrollmentIn, request: Request, who: Enrollments) -> JSONResponse:
    return await _write(
        request, lambda s: registry.register_enrollment(s, body, who, _source(request))
    )


@router.post(
    "/enrollments/{enrollment_id}/terminate", tags=["registry"], summary="Terminate an enrollment"
)
async def terminate(
    enrollment_id: str, body: TerminateIn, request: Request, who: Enrollments
) -> JSONResponse:
    return await _write(
        request,
        lambda s: registry.terminate_enrollment(
            s, enrollment_id, body.terminated_on, who, _source(request)
        ),
    )


@router.post(
    "/findings", tags=["registry"], status_code=201, summary="Report an uninsured enterprise"
)
async def post_finding(body: FindingIn, request: Request, who: Findings) -> JSONResponse:
    return await _write(request, lambda s: registry.record_finding(s, body, who, _source(request)))


@router.get("/coverage/permits/{permit_no}", tags=["coverage"], response_model=Coverage)
async def permit_coverage(permit_no: str, request: Request, who: CoverageReader) -> Coverage:
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await coverage.of_permit(session, permit_no.strip(), who)


@router.get("/coverage/enterprises/{uscc}", tags=["coverage"], response_model=Coverage)
async def enterprise_coverage(uscc: str, request: Request, who: CoverageReader) -> Coverage:
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await coverage.of_enterprise(session, uscc.strip().upper(), who)
