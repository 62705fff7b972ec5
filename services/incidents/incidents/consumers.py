"""The projection of `enterprises.v1` and `enrollments.v1` into the service's own tables.

Every handler is an upsert that gives the same state whatever the order or number of
deliveries: enterprise versions are kept by event id and the current state is the newest
by event time; an enrollment's fields come from its newest event and a termination, once
seen, is never undone by an older or later `enrollment.registered`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.domain.divisions import normalize_division
from hub_shared.domain.identifiers import normalize_code, validate_uscc
from hub_shared.domain.industries import normalize_industry_code
from hub_shared.messaging.consumer import PermanentEventError
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.events import EnrollmentData, EnterpriseData
from incidents.tables import IncidentsEnrollment, IncidentsEnterprise, IncidentsEnterpriseVersion

log = logging.getLogger(__name__)

EventHandler = Callable[[AsyncSession, Envelope], Awaitable[None]]


def _count(value: int, field: str) -> int:
    if value < 0:
        raise PermanentEventError(f"{field} must not be negative, got {value}")
    return value


async def apply_enterprise(session: AsyncSession, envelope: Envelope) -> None:
    data = EnterpriseData.model_validate(envelope.data)
    uscc = validate_uscc(data.uscc)
    normalize_industry_code(data.industry_code)  # refuse codes no report could place
    fields: dict[str, Any] = {
        "name": data.name,
        "division_code": normalize_division(data.division_code),
        "industry_code": normalize_code(data.industry_code),
        "employees": _count(data.employees, "employees"),
    }
    at = clock.as_utc(envelope.time)
    if await session.get(IncidentsEnterpriseVersion, envelope.id) is None:
        version = {"event_id": envelope.id, "uscc": uscc, "effective_at": at}
        session.add(IncidentsEnterpriseVersion.model_validate(fields | version))
    current = await session.get(IncidentsEnterprise, uscc)
    if current is None:
        state = {"uscc": uscc, "effective_at": at, "event_id": envelope.id}
        session.add(IncidentsEnterprise.model_validate(fields | state))
    elif (at, envelope.id) > (clock.as_utc(current.effective_at), current.event_id):
        current.sqlmodel_update(fields | {"effective_at": at, "event_id": envelope.id})


def _newer(at: datetime, than: datetime | None) -> bool:
    return than is None or at >= clock.as_utc(than)


async def apply_enrollment(session: AsyncSession, envelope: Envelope) -> None:
    data = EnrollmentData.model_validate(envelope.data)
    terminated_on = data.terminated_on
    if envelope.name == "enrollment.terminated" and terminated_on is None:
        raise PermanentEventError("enrollment.terminated without terminated_on")
    fields: dict[str, Any] = {
        "kind": data.kind,
        "employer_uscc": validate_uscc(data.employer_uscc),
        "employer_name": data.employer_name,
        "division_code": normalize_division(data.division_code),
        "insured_headcount": _count(data.insured_headcount, "insured_headcount"),
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
        "permit_no": data.permit_no,
        "project_code": data.project_code,
        "project_name": data.project_name,
    }
    at = clock.as_utc(envelope.time)
    row = await session.get(IncidentsEnrollment, data.enrollment_id)
    if row is None:
        ids = {"enrollment_id": data.enrollment_id, "state_at": at}
        row = IncidentsEnrollment.model_validate(fields | ids)
        session.add(row)
    elif _newer(at, row.state_at):
        row.sqlmodel_update(fields | {"state_at": at})
    if terminated_on is not None and _newer(at, row.terminated_at):
        row.terminated_on, row.terminated_at = terminated_on, at


HANDLERS: Mapping[str, EventHandler] = {
    "enterprise.registered": apply_enterprise,
    "enterprise.updated": apply_enterprise,
    "enrollment.registered": apply_enrollment,
    "enrollment.terminated": apply_enrollment,
}


async def apply_event(session: AsyncSession, envelope: Envelope) -> None:
    """The consumer's handler: events of other names on these topics are skipped."""
    handler = HANDLERS.get(envelope.name)
    if handler is None:
        log.info("projection: skipping event %s of type %s", envelope.id, envelope.type)
        return
    await handler(session, envelope)
