"""Query of the evaluation report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, model_validator

from hub_shared import clock
from hub_shared.domain.identifiers import DivisionCode
from incidents.evaluation.goals import PERIOD_YEARS, Period


class EvaluationQuery(BaseModel):
    division_code: DivisionCode
    period: Period
    format: Literal["html", "xlsx"] = "html"

    @model_validator(mode="after")
    def _reached(self) -> EvaluationQuery:
        if PERIOD_YEARS[self.period] > clock.today().year:
            raise ValueError(f"the {self.period} evaluation year has not begun")
        return self

    @property
    def year(self) -> int:
        return PERIOD_YEARS[self.period]
