"""The coverage registry's write side: each change is stored and staged on its topic."""

from __future__ import annotations

from datetime import date
from typing import Any

from enrollment.matching.names import name_key
from enrollment.registry.schemas import EnrollmentIn, EnterpriseIn, FindingIn
from enrollment.tables import Enrollment, Enterprise, Finding
from hub_shared import clock
from hub_shared.domain.identifiers import validate_uscc
from hub_shared.messaging.events import EnrollmentData, EnterpriseData, FindingData
from hub_shared.storage.uow import UnitOfWork
from hub_shared.web.auth import Principal
from hub_shared.web.errors import Conflict, NotFound, Unprocessable


def enterprise_json(e: Enterprise) -> dict[str, Any]:
    return EnterpriseData.model_validate(e, from_attributes=True).to_json()


def enrollment_json(e: Enrollment) -> dict[str, Any]:
    return EnrollmentData.model_validate(e, from_attributes=True).to_json()


async def put_enterprise(
    uow: UnitOfWork, uscc: str, body: EnterpriseIn, principal: Principal, source: str
) -> tuple[int, dict[str, Any]]:
    """Create or update an enterprise; unchanged content stages no event."""
    try:
        uscc = validate_uscc(uscc)
    except ValueError as exc:
        raise Unprocessable(str(exc), [{"loc": ["path", "uscc"], "msg": str(exc)}]) from exc
    principal.require_division(body.division_code)
    existing = await uow.get(Enterprise, uscc)
    if existing is not None:
        principal.require_division(existing.division_code)
        if (existing.name, existing.division_code, existing.industry_code, existing.employees) == (
            body.name,
            body.division_code,
            body.industry_code,
            body.employees,
        ):
            return 200, enterprise_json(existing)
    enterprise = existing or Enterprise(uscc=uscc, **body.model_dump())
    for field, value in body.model_dump().items():
        setattr(enterprise, field, value)
    enterprise.updated_at = clock.now()
    uow.session.add(enterprise)
    name = "enterprise.updated" if existing else "enterprise.registered"
    uow.add_event(name, source=source, key=uscc, subject=uscc, data=enterprise_json(enterprise))
    return (200 if existing else 201), enterprise_json(enterprise)


async def register_enrollment(
    uow: UnitOfWork, body: EnrollmentIn, principal: Principal, source: str
) -> tuple[int, dict[str, Any]]:
    """Store an enrollment; `enrollment_id` is the idempotency key."""
    body.check()
    principal.require_division(body.division_code)
    existing = await uow.get(Enrollment, body.enrollment_id)
    if existing is not None:
        if existing.content_hash != body.content_hash():
            raise Conflict(f"enrollment {body.enrollment_id} exists with different content")
        return 200, enrollment_json(existing)
    enrollment = Enrollment(
        **body.model_dump(),
        project_name_key=name_key(body.project_name) if body.project_name else None,
        content_hash=body.content_hash(),
    )
    uow.session.add(enrollment)
    uow.add_event(
        "enrollment.registered",
        source=source,
        key=enrollment.employer_uscc,
        subject=enrollment.enrollment_id,
        data=enrollment_json(enrollment),
    )
    return 201, enrollment_json(enrollment)


async def terminate_enrollment(
    uow: UnitOfWork,
    enrollment_id: str,
    terminated_on: date,
    principal: Principal,
    source: str,
) -> tuple[int, dict[str, Any]]:
    enrollment = await uow.get(Enrollment, enrollment_id)
    if enrollment is None or not principal.covers(enrollment.division_code):
        raise NotFound(f"no enrollment {enrollment_id}")
    if enrollment.terminated_on is not None:
        if enrollment.terminated_on != terminated_on:
            raise Conflict(
                f"enrollment {enrollment_id} was terminated on {enrollment.terminated_on}"
            )
        return 200, enrollment_json(enrollment)
    if terminated_on < enrollment.valid_from:
        raise Unprocessable(
            "terminated_on is before valid_from",
            [
                {
                    "loc": ["body", "terminated_on"],
                    "msg": f"must be on or after {enrollment.valid_from}",
                }
            ],
        )
    enrollment.terminated_on = terminated_on
    uow.session.add(enrollment)
    uow.add_event(
        "enrollment.terminated",
        source=source,
        key=enrollment.employer_uscc,
        subject=enrollment_id,
        data=enrollment_json(enrollment),
    )
    return 200, enrollment_json(enrollment)


async def record_finding(
    uow: UnitOfWork, body: FindingIn, principal: Principal, source: str
) -> tuple[int, dict[str, Any]]:
    principal.require_division(body.division_code)
    existing = await uow.get(Finding, body.finding_id)
    data = FindingData.model_validate(body.model_dump()).to_json()
    if existing is not None:
        if existing.content_hash != body.content_hash():
            raise Conflict(f"finding {body.finding_id} exists with different content")
        return 200, data
    uow.session.add(Finding(**body.model_dump(), content_hash=body.content_hash()))
    uow.add_event(
        "enterprise.uninsured",
        source=source,
        key=body.uscc,
        subject=body.finding_id,
        data=data,
    )
    return 201, data
