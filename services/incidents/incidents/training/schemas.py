"""Request and response models of key-personnel training. Request models hide their input
in errors: they carry resident ID numbers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from hub_shared import clock
from hub_shared.domain.identifiers import DivisionCode, ResidentIdNumber
from incidents.reports.queries import YearQuery
from incidents.schemas import IndustryCodeIn, Name, PartyIn, PastDate, RecordId, _Request
from incidents.training.roles import Role

PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class KeyPersonIn(_Request):
    """A key person of a key-industry enterprise, in one role."""

    enterprise: PartyIn
    division_code: DivisionCode
    industry_code: IndustryCodeIn = Field(description='"C26", "26" or "2614"')
    role: Role
    person_id_number: ResidentIdNumber = Field(description="GB 11643 resident ID number")
    person_name: PersonName
    listed_on: PastDate | None = Field(default=None, description="default: today")


class CompletionIn(_Request):
    """A completed course: from a platform's signed webhook or a trainer's REST call."""

    completion_id: RecordId
    person_id_number: ResidentIdNumber
    course: Name
    hours: Annotated[float, Field(gt=0, le=1000)]
    completed_on: PastDate
    trainer: Name = Field(description="the training platform or the trainer")


class KeyPersonOut(BaseModel):
    roster_id: str
    enterprise_uscc: str
    enterprise_name: str
    division_code: str
    industry_code: str
    role: str
    person_id_masked: str
    person_digest: str
    person_name_masked: str
    listed_on: date
    trained: bool


class CompletionOut(BaseModel):
    completion_id: str
    person_id_masked: str
    person_digest: str
    course: str
    hours: float
    completed_on: date
    trainer: str
    channel: str


class CoverageQuery(YearQuery):
    year: Annotated[int, Field(ge=2021)] = Field(default_factory=lambda: clock.today().year)
    format: Literal["json", "csv", "xlsx"] = "json"
