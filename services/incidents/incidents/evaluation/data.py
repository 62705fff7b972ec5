"""The three goals of a division and year, computed from the other reports' data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub_shared.domain.divisions import CITY
from hub_shared.storage.db import SessionFactory
from incidents.evaluation.goals import GoalRow, coverage_target
from incidents.incidence import data as incidence_data
from incidents.inspections import data as inspection_data
from incidents.inspections.report import InspectionReport
from incidents.reports import key_industry_data, trend_data, trends
from incidents.reports.key_industries import KeyIndustryReport
from incidents.training import data as training_data


@dataclass(frozen=True)
class Goals:
    division_code: str
    year: int
    rows: list[GoalRow]  # the division first, then each of its counties (for the city)

    def as_dict(self) -> dict[str, Any]:
        return {
            "division_code": self.division_code,
            "year": self.year,
            "rows": [row.as_dict() for row in self.rows],
        }


async def goals_of(*, sessions: SessionFactory, division_code: str, year: int) -> Goals:
    """Each goal of the division (and, for the city, of every county) in `year`."""
    trend = await trend_data.trend_report(
        sessions=sessions, division_code=division_code, from_year=year, to_year=year
    )
    incidence = (
        await incidence_data.incidence_trend(
            sessions=sessions, division_code=division_code, from_year=year, to_year=year
        )
    ).as_dict()
    coverage, _ = await training_data.coverage_of(
        sessions=sessions, division_code=division_code, year=year
    )
    training = coverage.as_dict()
    target = coverage_target(year)
    last = trend.total.points[-1]
    point = incidence["total"]["years"][-1]
    total = training["total"]
    rows = [
        GoalRow(
            division_code, last.rate, trend.total.baseline, last.target,
            point["incidence_per_100k"], point["incidence_baseline_per_100k"],
            point["pneumoconiosis_per_100k"], point["pneumoconiosis_baseline_per_100k"],
            total["coverage"], target, total["gap"],
        )
    ]  # fmt: skip
    if division_code == CITY:
        od_counties = {c["division_code"]: c for c in incidence["counties"]}
        tr_counties = {c["division_code"]: c for c in training["counties"]}
        for county in trend.counties:
            od, tr = od_counties[county.division_code], tr_counties[county.division_code]
            rows.append(
                GoalRow(
                    county.division_code, county.point.rate, county.baseline,
                    county.point.target, od["incidence_per_100k"],
                    od["incidence_baseline_per_100k"], od["pneumoconiosis_per_100k"],
                    od["pneumoconiosis_baseline_per_100k"], tr["coverage"], target, tr["gap"],
                )
            )  # fmt: skip
    return Goals(division_code, year, rows)


@dataclass(frozen=True)
class Evaluation:
    goals: Goals
    baseline_table: KeyIndustryReport
    year_table: KeyIndustryReport
    inspections: InspectionReport


async def evaluation_of(*, sessions: SessionFactory, division_code: str, year: int) -> Evaluation:
    goals = await goals_of(sessions=sessions, division_code=division_code, year=year)
    tables = [
        await key_industry_data.key_industry_report(
            sessions=sessions, division_code=division_code, year=y
        )
        for y in (trends.BASELINE_YEAR, year)
    ]
    record = await inspection_data.report_of(
        sessions=sessions, division_code=division_code, year=year
    )
    return Evaluation(goals, tables[0], tables[1], record)
