"""The accident-rate trend against the plan's target, as pure functions over plain data.

Definitions (docs/domain.md, "Rates"; a local reading of the plan where it says so):
- the accident rate is the key-industry table's (reports.py): accidents in the year ÷
  insured employees on the stock date × 1000;
- the baseline is the rate of 2020, the plan's reference year, whatever years are shown;
- the target falls linearly from the baseline in 2020 to baseline × 0.8 in 2025 (the plan's
  "down about 20% by 2025"; the straight line in between is a local choice) and stays at
  baseline × 0.8 after 2025;
- a year is on track when its rate is at or below that year's target; unknown (null) when
  the rate or the baseline is unknown (no insured employees);
- the county comparison shows each county's total rate for the latest year shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from hub_shared import clock
from hub_shared.domain import divisions
from incidents.reports.key_industries import (
    AccidentFact,
    EnrollmentFact,
    EnterpriseState,
    KeyIndustryReport,
    Row,
    enterprises_as_of,
    key_industry_report,
    stock_date,
)

BASELINE_YEAR: Final = 2020
TARGET_YEAR: Final = 2025
TARGET_REDUCTION: Final = 0.20

TREND_NOTES: Final[tuple[str, ...]] = (
    "工伤事故发生率(‰) = 工伤事故数量 ÷ 参加工伤保险人数 × 1000, 口径同重点行业企业基本情况表。",
    f"基期: {BASELINE_YEAR} 年; 目标: 到 {TARGET_YEAR} 年比基期下降 20%, "
    "其间各年目标按直线递减, 此后保持基期的 80%。",
    "当年发生率不高于当年目标即为“达标”; 无参保人数时不计算。",
    "县(市、区)对比取所示最后一年的合计发生率。",
)


def target_rate(baseline: float | None, year: int) -> float | None:
    """The target of a year: the baseline, falling linearly to 80% of it by 2025."""
    if baseline is None:
        return None
    span = TARGET_YEAR - BASELINE_YEAR
    progress = min(max(year - BASELINE_YEAR, 0), span) / span
    return round(baseline * (1 - TARGET_REDUCTION * progress), 4)


def on_track(rate: float | None, target: float | None) -> bool | None:
    """At or below the target; None when either is unknown."""
    if rate is None or target is None:
        return None
    return rate <= target


# as_dict methods alike in shape to each other (CountyRate) and to reports.Figures' and
# incidence's rows: each renders its own figures.
@dataclass(frozen=True)
class TrendPoint:
    year: int
    accidents: int
    insured_employees: int
    rate: float | None
    target: float | None
    on_track: bool | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "accidents": self.accidents,
            "insured_employees": self.insured_employees,
            "accident_rate_per_1000": self.rate,
            "target_per_1000": self.target,
            "on_track": self.on_track,
        }


@dataclass(frozen=True)
class Series:
    """One key industry (or the total) over the years."""

    industry: str
    industry_zh: str
    lists: tuple[str, ...]
    baseline: float | None
    points: tuple[TrendPoint, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "industry": self.industry,
            "industry_zh": self.industry_zh,
            "lists": list(self.lists),
            "baseline_per_1000": self.baseline,
            "years": [point.as_dict() for point in self.points],
        }


@dataclass(frozen=True)
class CountyRate:
    division_code: str
    name: str
    point: TrendPoint
    baseline: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "division_code": self.division_code,
            "division_name": self.name,
            "baseline_per_1000": self.baseline,
        } | self.point.as_dict()


@dataclass(frozen=True)
class TrendReport:
    division_code: str
    years: tuple[int, ...]
    industries: tuple[Series, ...]
    total: Series
    counties: tuple[CountyRate, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "division_code": self.division_code,
            "division_name": divisions.name_of(self.division_code),
            "from_year": self.years[0],
            "to_year": self.years[-1],
            "baseline_year": BASELINE_YEAR,
            "target_year": TARGET_YEAR,
            "target_reduction": TARGET_REDUCTION,
            "industries": [series.as_dict() for series in self.industries],
            "total": self.total.as_dict(),
            "counties": [county.as_dict() for county in self.counties],
            "notes": list(TREND_NOTES),
        }


def _point(row: Row, year: int, baseline: float | None) -> TrendPoint:
    figures = row.as_dict()
    rate: float | None = figures["accident_rate_per_1000"]
    target = target_rate(baseline, year)
    return TrendPoint(
        year=year,
        accidents=row.figures.accidents,
        insured_employees=row.figures.insured_employees,
        rate=rate,
        target=target,
        on_track=on_track(rate, target),
    )


def _rate_of(row: Row) -> float | None:
    rate: float | None = row.as_dict()["accident_rate_per_1000"]
    return rate


def _series(
    rows_by_year: Mapping[int, Row], years: Sequence[int], baseline_row: Row | None
) -> Series:
    first = rows_by_year[years[0]]
    baseline = _rate_of(baseline_row) if baseline_row is not None else None
    return Series(
        industry=first.industry,
        industry_zh=first.industry_zh,
        lists=first.lists,
        baseline=baseline,
        points=tuple(_point(rows_by_year[year], year, baseline) for year in years),
    )


def trend_report(
    *,
    division_code: str,
    years: Sequence[int],
    reports: Mapping[int, KeyIndustryReport],
    county_reports: Mapping[str, Mapping[int, KeyIndustryReport]],
) -> TrendReport:
    """The trend of a division over `years` (ascending, non-empty).

    `reports` holds the division's table for every year shown and for the baseline year
    when it has data; `county_reports` each county's tables of the baseline and the last
    year.
    """
    baseline_report = reports.get(BASELINE_YEAR)
    industries = []
    for index, first_row in enumerate(reports[years[0]].rows):
        rows = {year: reports[year].rows[index] for year in years}
        base_row = baseline_report.rows[index] if baseline_report else None
        assert first_row.industry == rows[years[0]].industry
        industries.append(_series(rows, years, base_row))
    total = _series(
        {year: reports[year].total for year in years},
        years,
        baseline_report.total if baseline_report else None,
    )
    latest = years[-1]
    counties = []
    for code, by_year in county_reports.items():
        base = by_year.get(BASELINE_YEAR)
        baseline = _rate_of(base.total) if base else None
        counties.append(
            CountyRate(
                division_code=code,
                name=divisions.name_of(code),
                point=_point(by_year[latest].total, latest, baseline),
                baseline=baseline,
            )
        )
    return TrendReport(
        division_code=division_code,
        years=tuple(years),
        industries=tuple(industries),
        total=total,
        counties=tuple(counties),
    )


def counties_in(division_code: str) -> tuple[str, ...]:
    """The counties a trend compares: all eleven for the city, else the county itself."""
    if division_code == divisions.CITY:
        return divisions.county_codes()
    return (division_code,)


def compute(
    *,
    division_code: str,
    years: Sequence[int],
    today: date,
    now: datetime,
    versions: Iterable[EnterpriseState],
    enrollments: Iterable[EnrollmentFact],
    accidents: Iterable[AccidentFact],
) -> TrendReport:
    """Every table the trend needs, from the facts, then the trend itself."""
    version_list, enrollment_list = list(versions), list(enrollments)
    accident_list = list(accidents)
    wanted = sorted({*years, BASELINE_YEAR} if today.year >= BASELINE_YEAR else set(years))
    counties = counties_in(division_code)
    reports: dict[int, KeyIndustryReport] = {}
    county_reports: dict[str, dict[int, KeyIndustryReport]] = {code: {} for code in counties}
    for year in wanted:
        as_of = stock_date(year, today)
        moment = now if as_of == today else clock.end_of_day(as_of)
        states = enterprises_as_of(version_list, moment)

        codes = [division_code]
        if year in (BASELINE_YEAR, years[-1]):
            codes += counties
        for code in codes:
            # Keyword calls alike in shape to other call sites: named arguments, not logic.
            table = key_industry_report(
                division_code=code,
                year=year,
                as_of=as_of,
                enterprises=states,
                enrollments=enrollment_list,
                accidents=accident_list,
            )
            if code == division_code:
                reports[year] = table
            if code in county_reports and year in (BASELINE_YEAR, years[-1]):
                county_reports[code][year] = table
    return trend_report(
        division_code=division_code, years=years, reports=reports, county_reports=county_reports
    )
