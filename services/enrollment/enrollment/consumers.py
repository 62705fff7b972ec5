"""Event handlers of the matcher: store what an event says, then re-evaluate what it touches."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment import alerts, matcher
from enrollment.models import Enrollment, Enterprise, Finding, Incident, WatchedPermit
from enrollment.names import name_key
from enrollment.rules import Policy
from enrollment.schemas import FindingIn
from hub_shared.consumer import PermanentEventError
from hub_shared.envelope import Envelope
from hub_shared.events import (
    AccidentData,
    DiseaseData,
    EnrollmentData,
    EnterpriseData,
    FindingData,
    PermitData,
)
from hub_shared.inbox import Handler


def make_handler(policy: Policy) -> Handler:
    """One handler for every topic the matcher reads, dispatching on the event name."""

    async def handle(session: AsyncSession, event: Envelope) -> None:
        await alerts.lock_matcher(session)
        name = event.name
        if name in ("permit.issued", "permit.amended"):
            await on_permit(session, PermitData.model_validate(event.data), event.id, policy)
        elif name in ("enrollment.registered", "enrollment.terminated"):
            enrollment = await upsert_enrollment(session, EnrollmentData.model_validate(event.data))
            await matcher.after_enrollment_change(session, enrollment, policy)
        elif name == "enterprise.uninsured":
            finding = await upsert_finding(session, FindingData.model_validate(event.data))
            await matcher.evaluate_finding(session, finding, policy)
        elif name == "accident.reported":
            await on_incident(
                session, "accident", AccidentData.model_validate(event.data), event.id, policy
            )
        elif name == "disease.diagnosed":
            await on_incident(
                session, "disease", DiseaseData.model_validate(event.data), event.id, policy
            )
        elif name in ("enterprise.registered", "enterprise.updated"):
            await upsert_enterprise(session, EnterpriseData.model_validate(event.data))
        elif name.startswith("alert."):
            return  # the matcher's own output, or an office's acknowledgement
        else:
            raise PermanentEventError(f"the matcher has no rule for {event.type}")

    return handle


async def on_permit(session: AsyncSession, data: PermitData, event_id: str, policy: Policy) -> None:
    permit = await session.get(WatchedPermit, data.permit_no)
    if permit is not None and data.revision < permit.revision:
        return  # an older revision arriving late changes nothing
    if permit is None:
        permit = WatchedPermit(
            permit_no=data.permit_no,
            event_id=event_id,
            project_name="",
            project_name_key="",
            division_code="",
            contractor_uscc="",
            contractor_name="",
            received_at=data.received_at,
            due_at=data.received_at + timedelta(seconds=policy.grace_seconds),
        )
    permit.revision = data.revision
    permit.project_code = data.project_code
    permit.project_name = data.project_name
    permit.project_name_key = name_key(data.project_name)
    permit.division_code = data.division_code
    permit.contractor_uscc = data.contractor.uscc
    permit.contractor_name = data.contractor.name
    if data.revision == 1:
        permit.event_id = event_id
    session.add(permit)
    await session.flush()
    if permit.checked_at is not None:  # an amendment after the due time: judge again now
        await matcher.evaluate_permit(session, permit, policy)
    # Accidents that named this permit before it arrived may be covered by its project.
    for incident in (
        await session.exec(select(Incident).where(Incident.permit_no == data.permit_no))
    ).all():
        await matcher.evaluate_incident(session, incident, policy)


async def upsert_enrollment(session: AsyncSession, data: EnrollmentData) -> Enrollment:
    """Store an enrollment from its event; a termination is never undone by a late event."""
    enrollment = await session.get(Enrollment, data.enrollment_id)
    if enrollment is None:
        enrollment = Enrollment(
            **data.model_dump(),
            project_name_key=name_key(data.project_name) if data.project_name else None,
            content_hash="replayed",
        )
    elif data.terminated_on is not None:
        enrollment.terminated_on = data.terminated_on
    session.add(enrollment)
    await session.flush()
    return enrollment


async def upsert_enterprise(session: AsyncSession, data: EnterpriseData) -> None:
    """The registry's read side, rebuilt from enterprises.v1 on replay."""
    enterprise = await session.get(Enterprise, data.uscc) or Enterprise(**data.model_dump())
    for field, value in data.model_dump().items():
        setattr(enterprise, field, value)
    session.add(enterprise)


async def upsert_finding(session: AsyncSession, data: FindingData) -> Finding:
    finding = await session.get(Finding, data.finding_id)
    if finding is None:
        body = FindingIn.model_validate(data.model_dump())
        finding = Finding(**body.model_dump(), content_hash=body.content_hash())
        session.add(finding)
        await session.flush()
    return finding


async def on_incident(
    session: AsyncSession,
    kind: str,
    data: AccidentData | DiseaseData,
    event_id: str,
    policy: Policy,
) -> None:
    incident_id = data.report_id if isinstance(data, AccidentData) else data.diagnosis_id
    incident = await session.get(Incident, incident_id)
    if incident is None:
        incident = Incident(
            incident_id=incident_id,
            kind=kind,
            event_id=event_id,
            employer_uscc=data.employer.uscc,
            employer_name=data.employer.name,
            occurred_on=data.occurred_at.date()
            if isinstance(data, AccidentData)
            else data.diagnosed_on,
            permit_no=data.permit_no if isinstance(data, AccidentData) else None,
            division_code=data.division_code,
        )
        session.add(incident)
        await session.flush()
    await matcher.evaluate_incident(session, incident, policy)
