"""Event payloads (the `data` of each CloudEvent), one immutable model per event.

Additive only: new optional fields may be added; consumers ignore fields they do not know.
A breaking change is a new topic version.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_serializer


class EventData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Party(EventData):
    name: str
    uscc: str


class PermitData(EventData):
    """`permit.issued` and `permit.amended`: the permit as accepted, with hub metadata."""

    permit_no: str
    project_code: str | None = None
    project_name: str
    address: str
    division_code: str
    contract_price_wan: float
    area_m2: float | None = None
    planned_start: date
    planned_end: date
    issued_at: datetime
    issuing_authority: str | None = None
    builder: Party
    contractor: Party
    supervisor: Party | None = None
    project_manager: str | None = None
    commitment_letter: bool | None = None
    received_at: datetime
    source_id: str
    revision: int = 1


class EnterpriseData(EventData):
    """`enterprise.registered` and `enterprise.updated`."""

    uscc: str
    name: str
    division_code: str
    industry_code: str
    employees: int


class EnrollmentData(EventData):
    """`enrollment.registered` (and the state carried by `enrollment.terminated`)."""

    enrollment_id: str
    kind: Literal["project", "employer"]
    permit_no: str | None = None
    project_code: str | None = None
    project_name: str | None = None
    employer_uscc: str
    employer_name: str
    division_code: str
    insured_headcount: int
    valid_from: date
    valid_to: date | None = None
    terminated_on: date | None = None


class FindingData(EventData):
    """`enterprise.uninsured`: a department found an enterprise without insurance."""

    finding_id: str
    uscc: str
    name: str
    division_code: str
    found_on: date
    source_department: str
    note: str | None = None


class AccidentData(EventData):
    """`accident.reported`."""

    report_id: str
    occurred_at: datetime
    division_code: str
    employer: Party
    permit_no: str | None = None
    industry_code: str
    grade: Literal["general", "larger", "major", "extraordinary"]
    deaths: int
    serious_injuries: int
    minor_injuries: int
    summary: str | None = None


class DiseaseData(EventData):
    """`disease.diagnosed`: the patient's ID number only masked, plus a keyed digest."""

    diagnosis_id: str
    diagnosed_on: date
    patient_id_masked: str
    patient_digest: str
    category: int
    disease: str
    employer: Party
    division_code: str
    institution: str | None = None


# Payload models are alike in shape by nature: each event names its own fields.
class AlertSubject(EventData):
    uscc: str
    name: str
    permit_no: str | None = None
    project_name: str | None = None
    report_id: str | None = None
    diagnosis_id: str | None = None
    finding_id: str | None = None
    # The department that owns the subject (an inspection finding's responsible department):
    # industry regulators subscribe to their department's alerts.
    department: str | None = None


class Evidence(EventData):
    type: str
    id: str
    detail: str | None = None
    score: float | None = None


AlertKind = Literal[
    "project_not_enrolled",
    "accident_uninsured_employer",
    "disease_uninsured_employer",
    "enterprise_uninsured",
    "rectification_overdue",
    "training_gap",
]
AlertStatus = Literal["open", "resolved", "dismissed"]


class AlertData(EventData):
    """`alert.raised`, `alert.resolved`, `alert.acknowledged`: the alert's whole state."""

    alert_id: str
    kind: AlertKind
    status: AlertStatus
    division_code: str
    subject: AlertSubject
    reason: str
    evidence: tuple[Evidence, ...] = ()
    raised_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None

    @field_serializer("subject")
    def _subject_without_nulls(self, subject: AlertSubject) -> dict[str, Any]:
        return subject.model_dump(mode="json", exclude_none=True)


class AuditHeadData(EventData):
    """`audit.head`: the newest entry of a service's audit chain when it was published.
    `chain` (the record key) names the chain: `<consumer group prefix>-<service>`, one per
    service of a deployment."""

    service: str
    chain: str
    seq: int
    entry_hash: str
    at: str
