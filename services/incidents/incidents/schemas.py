"""Request and response models of the incidents API (docs/interfaces.md §6).

Request models hide their input in errors: a disease report carries a resident ID number,
which must never be echoed (docs/domain.md, "Resident ID number"). Counts are strict
integers: `"3"` or `true` is not a count.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from hub_shared import clock
from hub_shared.domain.codelists import AccidentGrade, disease_category
from hub_shared.domain.identifiers import (
    DivisionCode,
    PermitNo,
    ResidentIdNumber,
    Uscc,
    named_form,
)
from incidents.rules import grade_consistency_error, split_industry_code

EARLIEST = date(1980, 1, 1)


def _past_instant(value: datetime) -> datetime:
    """Not in the future (5 min clock skew allowed); naive times are Beijing time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.BEIJING)
    if value > clock.now() + clock.CLOCK_SKEW:
        raise ValueError("must not be in the future")
    try:
        beijing = value.astimezone(clock.BEIJING)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00: before year 1 in Beijing time
        raise ValueError(f"must not be before {EARLIEST.isoformat()}") from None
    if beijing.date() < EARLIEST:
        raise ValueError(f"must not be before {EARLIEST.isoformat()}")
    return beijing


def _past_date(value: date) -> date:
    if value > clock.today():
        raise ValueError("must not be in the future")
    if value < EARLIEST:
        raise ValueError(f"must not be before {EARLIEST.isoformat()}")
    return value


def _industry_code(raw: str) -> str:
    """The 4-digit class when one is given (classes matter for rows), else the division."""
    division, industry_class = split_industry_code(raw)
    return industry_class or division


def _category(number: int) -> int:
    return disease_category(number).number


RecordId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z][0-9A-Za-z._:-]{0,63}$")
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Count = Annotated[int, Field(strict=True, ge=0, le=100_000)]
PastInstant = Annotated[datetime, AfterValidator(_past_instant)]
PastDate = Annotated[date, AfterValidator(_past_date)]
IndustryCodeIn = Annotated[str, AfterValidator(_industry_code), named_form("industry-code")]
# 1-10, documented as the schema's range and checked by _category, whose message names
# the category list.
Category = Annotated[
    int,
    Field(strict=True, json_schema_extra={"minimum": 1, "maximum": 10}),
    AfterValidator(_category),
]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)


class PartyIn(_Request):
    name: Name
    uscc: Uscc


class AccidentIn(_Request):
    """An accident report from emergency management."""

    report_id: RecordId
    occurred_at: PastInstant = Field(description="ISO 8601; without an offset, Beijing time")
    division_code: DivisionCode
    employer: PartyIn
    permit_no: PermitNo | None = None
    industry_code: IndustryCodeIn = Field(description='"E47", "47", "4711" or "E4711"')
    # The counts come before `grade` so that its validator can see them.
    deaths: Count
    serious_injuries: Count
    minor_injuries: Count
    grade: AccidentGrade
    summary: Text | None = None

    @field_validator("grade")
    @classmethod
    def _grade_matches_counts(cls, grade: AccidentGrade, info: ValidationInfo) -> AccidentGrade:
        deaths, serious = info.data.get("deaths"), info.data.get("serious_injuries")
        if not (isinstance(deaths, int) and isinstance(serious, int)):
            return grade  # a count is invalid itself and reported as such
        if problem := grade_consistency_error(grade, deaths, serious):
            raise ValueError(problem)
        return grade


class DiseaseIn(_Request):
    """An occupational-disease diagnosis from the health commission."""

    diagnosis_id: RecordId
    diagnosed_on: PastDate
    patient_id_number: ResidentIdNumber = Field(description="GB 11643 resident ID number")
    patient_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)
    ]
    category: Category = Field(description="职业病分类和目录 category, 1-10")
    disease: Name
    employer: PartyIn
    division_code: DivisionCode
    institution: Name | None = None


class Party(BaseModel):
    name: str
    uscc: str


class AccidentOut(BaseModel):
    """An accepted accident report as stored."""

    report_id: str
    event_id: str
    occurred_at: datetime
    division_code: str
    employer: Party
    permit_no: str | None
    industry_code: str = Field(description="GB/T 4754-2017 division (2 digits)")
    industry_class: str | None = Field(description="4-digit class when one was given")
    key_industries: list[str]
    grade: AccidentGrade
    deaths: int
    serious_injuries: int
    minor_injuries: int
    summary: str | None
    received_at: datetime


class DiseaseOut(BaseModel):
    """An accepted diagnosis: the patient appears only masked and as a keyed digest."""

    diagnosis_id: str
    event_id: str
    diagnosed_on: date
    patient_id_masked: str
    patient_digest: str
    patient_name_masked: str
    category: int
    category_zh: str
    disease: str
    employer: Party
    division_code: str
    institution: str | None
    received_at: datetime
    repeat_of: list[str] = Field(
        default_factory=list, description="earlier diagnoses of the same person"
    )


ReportFormat = Literal["json", "csv", "xlsx"]


def _report_year(year: int) -> int:
    if year > clock.today().year:
        raise ValueError("the report year must not be in the future")
    return year


class ReportQuery(BaseModel):
    year: Annotated[int, Field(ge=2000), AfterValidator(_report_year)]
    division_code: DivisionCode
    format: ReportFormat = "json"
