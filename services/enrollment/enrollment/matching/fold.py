"""Folding events into the facts: what each event says, stored; no judgement, no I/O.

A fold is idempotent and commutative in what it keeps: an older permit revision arriving
late changes nothing, a termination is never undone, a second copy of an event changes
nothing. Each fold names the subjects it touched, for the judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from enrollment.matching.facts import (
    EnrollmentFact,
    EnterpriseFact,
    Facts,
    FindingFact,
    IncidentFact,
    PermitFact,
)
from enrollment.matching.names import name_key
from enrollment.matching.rules import Policy
from enrollment.registry.schemas import FindingIn
from hub_shared import clock
from hub_shared.domain.industries import normalize_industry_code
from hub_shared.messaging.consumer import PermanentEventError
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.events import (
    AccidentData,
    DiseaseData,
    EnrollmentData,
    EnterpriseData,
    EventData,
    FindingData,
    PermitData,
)

# What a batch touched: ("permit", permit_no), ("enrollment", id), ("finding", id),
# ("incident", id). The judge expands them to every subject whose alert may change.
Subject = tuple[str, str]
_MODELS: dict[str, type[EventData]] = {
    "permit.issued": PermitData,
    "permit.amended": PermitData,
    "enrollment.registered": EnrollmentData,
    "enrollment.terminated": EnrollmentData,
    "enterprise.uninsured": FindingData,
    "accident.reported": AccidentData,
    "disease.diagnosed": DiseaseData,
    "enterprise.registered": EnterpriseData,
    "enterprise.updated": EnterpriseData,
}
# The content hash of a row stored from its event, not from a request. The stored value
# keeps its old word; only `hub replay` (the rebuild from the topics) is called replay here.
_FROM_EVENT = "replayed"


@dataclass(frozen=True, slots=True)
class Event:
    """An input event, its data validated."""

    name: str
    event_id: str
    data: EventData


def parse(envelope: Envelope) -> Event | None:
    """The event the matcher folds, or None for one it does not (alerts, its own output).
    Raises ValidationError or PermanentEventError for one that can never be applied."""
    name = envelope.name
    if name.startswith("alert."):
        return None
    model = _MODELS.get(name)
    if model is None:
        raise PermanentEventError(f"the matcher has no rule for {envelope.type}")
    return Event(name, envelope.id, model.model_validate(envelope.data))


def fold(facts: Facts, event: Event, policy: Policy, now: datetime) -> set[Subject]:
    data = event.data
    if isinstance(data, PermitData):
        return _permit(facts, data, event.event_id, policy, now)
    if isinstance(data, EnrollmentData):
        return _enrollment(facts, data, now)
    if isinstance(data, FindingData):
        return _finding(facts, data)
    if isinstance(data, AccidentData | DiseaseData):
        return _incident(facts, data, event.event_id)
    if isinstance(data, EnterpriseData):
        # Stored as the registry stores it ("E47" and "4711" as "47"); an unknown code is
        # InvalidValue, dead-lettered, never a database error retried for ever.
        industry = normalize_industry_code(data.industry_code)
        fact = EnterpriseFact(**(data.model_dump() | {"industry_code": industry}), updated_at=now)
        facts.enterprises[data.uscc] = fact
        facts.touch(fact, data.uscc)
        return set()
    raise PermanentEventError(f"the matcher has no rule for {event.name}")


def mark_due(facts: Facts, permit_nos: list[str], now: datetime) -> set[Subject]:
    """The due-permit scan: these permits' grace periods have passed; judge them now."""
    touched: set[Subject] = set()
    for permit_no in permit_nos:
        permit = facts.permits.get(permit_no)
        if permit is not None and permit.checked_at is None and permit.due_at <= now:
            permit.checked_at = now
            facts.touch(permit, permit_no)
            touched.add(("permit", permit_no))
    return touched


def _permit(
    facts: Facts, data: PermitData, event_id: str, policy: Policy, now: datetime
) -> set[Subject]:
    permit = facts.permits.get(data.permit_no)
    if permit is not None and data.revision < permit.revision:
        return set()  # an older revision arriving late changes nothing
    if permit is None:
        due_at = data.received_at + timedelta(seconds=policy.grace_seconds)
        # Already due on arrival (a short grace, or a log read late): judged now, as the
        # due-permit scan would at once.
        checked_at = now if due_at <= now else None
        permit = PermitFact(
            data.permit_no, event_id, data.revision, data.project_code, data.project_name,
            name_key(data.project_name), data.division_code, data.contractor.uscc,
            data.contractor.name, data.received_at, due_at, checked_at,
        )  # fmt: skip
        facts.permits[data.permit_no] = permit
    else:
        permit.revision = data.revision
        permit.project_code = data.project_code
        permit.project_name = data.project_name
        permit.project_name_key = name_key(data.project_name)
        permit.division_code = data.division_code
        permit.contractor_uscc = data.contractor.uscc
        permit.contractor_name = data.contractor.name
        if data.revision == 1:
            permit.event_id = event_id
    facts.touch(permit, data.permit_no)
    return {("permit", data.permit_no)}


def _enrollment(facts: Facts, data: EnrollmentData, now: datetime) -> set[Subject]:
    """Store an enrollment from its event; a termination is never undone by a late event.
    Its subjects are judged even when the row was there already: the registry stores a
    request's enrollment before the matcher reads its event."""
    enrollment = facts.enrollments.get(data.enrollment_id)
    if enrollment is None:
        key = name_key(data.project_name) if data.project_name else None
        enrollment = EnrollmentFact(
            **data.model_dump(), project_name_key=key, content_hash=_FROM_EVENT, created_at=now
        )
        facts.enrollments[data.enrollment_id] = enrollment
        facts.touch(enrollment, data.enrollment_id)
    elif data.terminated_on is not None and enrollment.terminated_on != data.terminated_on:
        enrollment.terminated_on = data.terminated_on
        facts.touch(enrollment, data.enrollment_id)
    return {("enrollment", data.enrollment_id)}


def _finding(facts: Facts, data: FindingData) -> set[Subject]:
    if data.finding_id not in facts.findings:
        body = FindingIn.model_validate(data.model_dump())
        finding = FindingFact(**body.model_dump(), content_hash=body.content_hash())
        facts.findings[data.finding_id] = finding
        facts.touch(finding, data.finding_id)
    return {("finding", data.finding_id)}


def _incident(facts: Facts, data: AccidentData | DiseaseData, event_id: str) -> set[Subject]:
    accident = isinstance(data, AccidentData)
    incident_id = data.report_id if isinstance(data, AccidentData) else data.diagnosis_id
    if incident_id not in facts.incidents:
        incident = IncidentFact(
            incident_id=incident_id,
            kind="accident" if accident else "disease",
            event_id=event_id,
            employer_uscc=data.employer.uscc,
            employer_name=data.employer.name,
            occurred_on=clock.local_date(data.occurred_at)
            if isinstance(data, AccidentData)
            else data.diagnosed_on,
            permit_no=data.permit_no if isinstance(data, AccidentData) else None,
            division_code=data.division_code,
        )
        facts.incidents[incident_id] = incident
        facts.touch(incident, incident_id)
    return {("incident", incident_id)}
