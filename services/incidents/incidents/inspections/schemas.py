"""Request and response models of joint inspections."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from hub_shared.domain.identifiers import DivisionCode, PermitNo
from incidents.inspections.kinds import Department, FindingKind
from incidents.reports.queries import YearQuery
from incidents.schemas import (
    IndustryCodeIn,
    Name,
    PartyIn,
    PastDate,
    RecordId,
    Text,
    _Request,
)

Evidence = Annotated[str, Field(min_length=1, max_length=4000)]


# Field lists alike in shape to the events' (hub_shared.messaging.events): a request and an event
# are two contracts that evolve apart.
class FindingIn(_Request):
    finding_id: RecordId
    kind: FindingKind
    description: Annotated[str, Field(min_length=1, max_length=4000)]
    deadline: date = Field(description="限期整改: the last day of the rectification period")
    responsible_department: Department
    permit_no: PermitNo | None = None
    project_name: Name | None = None


class InspectionIn(_Request):
    """A joint inspection (联合检查) of one enterprise, with its findings."""

    inspection_id: RecordId
    inspected_on: PastDate
    departments: Annotated[list[Department], Field(min_length=1, max_length=7)]
    enterprise: PartyIn
    division_code: DivisionCode
    industry_code: IndustryCodeIn = Field(description='"E47", "47", "4711" or "E4711"')
    findings: Annotated[list[FindingIn], Field(default_factory=list, max_length=200)]


class RectificationIn(_Request):
    """整改: the responsible department closes a finding, with its evidence."""

    rectified_on: PastDate
    evidence: Evidence
    note: Text | None = None


class FindingOut(BaseModel):
    finding_id: str
    inspection_id: str
    kind: str
    kind_zh: str
    description: str
    deadline: date
    responsible_department: str
    division_code: str
    enterprise_uscc: str
    enterprise_name: str
    status: Literal["open", "overdue", "rectified_on_time", "rectified_late"]
    rectified_on: date | None
    rectification_evidence: str | None
    overdue_alert_id: str | None


class InspectionOut(BaseModel):
    inspection_id: str
    inspected_on: date
    departments: list[str]
    enterprise_uscc: str
    enterprise_name: str
    division_code: str
    industry_code: str
    received_at: datetime
    findings: list[FindingOut]


class InspectionReportQuery(YearQuery):
    year: Annotated[int, Field(ge=2000)]
    format: Literal["json", "csv"] = "json"
