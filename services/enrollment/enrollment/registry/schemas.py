"""Request bodies of the coverage registry (docs/interfaces.md §5)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub_shared.domain.identifiers import DivisionCode, IndustryCode, PermitNo, ProjectCode, Uscc
from hub_shared.web.errors import FieldError, Unprocessable


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    def content_hash(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


# People at one enterprise: bounded far above any real one (Jining has some 8 million
# people), and below what the tables' integer columns hold.
Headcount = Annotated[int, Field(ge=0, le=10_000_000)]


class EnterpriseIn(_In):
    name: str = Field(min_length=1, max_length=200)
    division_code: DivisionCode
    industry_code: IndustryCode = Field(description='"E47", "47" or "4711"; stored as "47"')
    employees: Headcount


class EnrollmentIn(_In):
    enrollment_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._-]+$")
    kind: Literal["project", "employer"]
    permit_no: PermitNo | None = None
    project_code: ProjectCode | None = None
    project_name: str | None = Field(default=None, max_length=300)
    employer_uscc: Uscc
    employer_name: str = Field(min_length=1, max_length=200)
    division_code: DivisionCode
    insured_headcount: Headcount
    valid_from: date
    valid_to: date | None = None

    def check(self) -> None:
        """Rules across fields, each reported at the field it concerns."""
        errors: list[FieldError] = []
        if self.valid_to is not None and self.valid_to < self.valid_from:
            errors.append({"loc": ["body", "valid_to"], "msg": "valid_to is before valid_from"})
        if self.kind == "employer" and self.insured_headcount <= 0:
            errors.append(
                {"loc": ["body", "insured_headcount"], "msg": "an employer enrollment insures > 0"}
            )
        if self.kind == "project" and not (
            self.permit_no or self.project_code or self.project_name
        ):
            errors.append(
                {
                    "loc": ["body", "permit_no"],
                    "msg": "a project enrollment names permit_no, project_code or project_name",
                }
            )
        if errors:
            raise Unprocessable(f"{len(errors)} invalid field(s)", errors)


class TerminateIn(_In):
    terminated_on: date


class FindingIn(_In):
    finding_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._-]+$")
    uscc: Uscc
    name: str = Field(min_length=1, max_length=200)
    division_code: DivisionCode
    found_on: date
    source_department: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class Coverage(BaseModel):
    covered: bool
    by: list[str]
    explanation: str
