"""Query parameters of the trend and floating-rate reports."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, model_validator

from hub_shared import clock
from hub_shared.domain.identifiers import DivisionCode
from incidents.reports import trends


def _default_to_year() -> int:
    return min(trends.TARGET_YEAR, clock.today().year)


class TrendQuery(BaseModel):
    division_code: DivisionCode
    from_year: int = Field(default=trends.BASELINE_YEAR, ge=2000)
    to_year: int = Field(default_factory=_default_to_year, ge=2000)

    @model_validator(mode="after")
    def _years(self) -> TrendQuery:
        if self.to_year > clock.today().year:
            raise ValueError("to_year must not be in the future")
        if not 0 <= self.to_year - self.from_year <= 30:
            raise ValueError("from_year must be at most to_year, and at most 30 years before it")
        return self


class YearQuery(BaseModel):
    """A division and a year, not in the future: the yearly reports' queries extend it,
    each with its own bounds of the year and its own formats."""

    division_code: DivisionCode
    year: int

    @model_validator(mode="after")
    def _year(self) -> Self:
        if self.year > clock.today().year:
            raise ValueError("the year must not be in the future")
        return self


class FloatingRateQuery(YearQuery):
    year: Annotated[int, Field(ge=2000)]
    format: Literal["json", "csv"] = "json"
