"""The key-industry table (重点行业企业基本情况表) as pure functions over plain data.

Definitions (docs/domain.md, "Rates"):
- stock figures (enterprises, employees, insured enterprises and employees) as of the
  stock date: 31 December of the year, or today for the current year;
- an enterprise is insured when an employer enrollment of its USCC is active on the stock
  date; insured employees = the sum of `insured_headcount` of those enrollments; project
  enrollments do not count;
- flow figures (accidents, deaths) count what happened within the year (Beijing dates);
- an enterprise or accident counts in every key-industry row of its industry code and in
  the division of its own `division_code`; the city (370800) covers every county;
- the total row counts each enterprise and each accident once;
- a rate is null when its denominator is 0, else rounded to 4 decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, Protocol

from hub_shared.domain import divisions
from hub_shared.domain.industries import JINING, KEY_INDUSTRIES, SHANDONG, key_industries_of

TOTAL_KEY: Final = "total"
TOTAL_ZH: Final = "合计"
LIST_NAMES_ZH: Final = {JINING: "济宁市", SHANDONG: "山东省"}

NOTES: Final[tuple[str, ...]] = (
    "企业户数、从业总人数、参保企业户数、参加工伤保险人数为时点数: "
    "统计年度 12 月 31 日(当年为统计当日)的状态。",
    "参保企业: 该日有有效的单位参保登记(按项目参保不计入); "
    "参加工伤保险人数: 这些登记的参保人数之和。",
    "工伤事故数量、死亡人数为期间数: 统计年度内(北京时间)发生的事故。",
    "工伤保险参保率 = 参加工伤保险人数 ÷ 从业总人数; 企业参保率 = 参保企业户数 ÷ 企业户数。",
    "工伤事故发生率(‰) = 工伤事故数量 ÷ 参加工伤保险人数 × 1000; "
    "千人死亡率(‰) = 死亡人数 ÷ 从业总人数 × 1000 (GB 6441-86)。分母为 0 时不计算。",
    "企业和事故按其行业代码(GB/T 4754-2017)归入重点行业, 按其行政区划归入县(市、区); "
    "市级报表汇总各县(市、区)。",
    "行业之间有交叉(如煤矿同属矿山), 合计行中每户企业、每起事故只计一次。",
)


@dataclass(frozen=True)
class EnterpriseState:
    """One version of an enterprise, in effect from `effective_at` on."""

    uscc: str
    division_code: str
    industry_code: str
    employees: int
    effective_at: datetime
    version: str = ""  # breaks ties between versions of the same instant


# Field lists alike in shape to the events' (hub_shared.messaging.events): the rules' own inputs.
@dataclass(frozen=True)
class EnrollmentFact:
    employer_uscc: str
    kind: str
    insured_headcount: int
    valid_from: date
    valid_to: date | None = None
    terminated_on: date | None = None

    def active_on(self, day: date) -> bool:
        """Valid that day: from `valid_from` through `valid_to` and `terminated_on` (inclusive)."""
        if day < self.valid_from:
            return False
        return all(end is None or day <= end for end in (self.valid_to, self.terminated_on))


@dataclass(frozen=True)
class AccidentFact:
    report_id: str
    division_code: str
    industry_code: str  # a division ("47") or a 4-digit class ("5942")
    occurred_on: date
    deaths: int


def _rate(numerator: int, denominator: int, scale: int = 1) -> float | None:
    if denominator == 0:
        return None
    return round(numerator * scale / denominator, 4)


# A plain counter record, alike in shape to inspections.report.Tally and other records of
# numbers (enrollment's RebuildReport, hubtools' SoakOptions): each holds its own.
@dataclass
class Figures:
    enterprises: int = 0
    insured_enterprises: int = 0
    employees: int = 0
    insured_employees: int = 0
    accidents: int = 0
    deaths: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "enterprises": self.enterprises,
            "insured_enterprises": self.insured_enterprises,
            "employees": self.employees,
            "insured_employees": self.insured_employees,
            "coverage_rate": _rate(self.insured_employees, self.employees),
            "enterprise_coverage_rate": _rate(self.insured_enterprises, self.enterprises),
            "accidents": self.accidents,
            "accident_rate_per_1000": _rate(self.accidents, self.insured_employees, 1000),
            "deaths": self.deaths,
            "deaths_per_1000_employees": _rate(self.deaths, self.employees, 1000),
        }


@dataclass
class Row:
    industry: str
    industry_zh: str
    lists: tuple[str, ...]
    figures: Figures = field(default_factory=Figures)

    def as_dict(self) -> dict[str, Any]:
        head = {"industry": self.industry, "industry_zh": self.industry_zh}
        return head | {"lists": list(self.lists)} | self.figures.as_dict()


@dataclass(frozen=True)
class KeyIndustryReport:
    division_code: str
    year: int
    stock_date: date
    rows: tuple[Row, ...]
    total: Row

    def as_dict(self) -> dict[str, Any]:
        return {
            "division_code": self.division_code,
            "division_name": divisions.name_of(self.division_code),
            "year": self.year,
            "stock_date": self.stock_date.isoformat(),
            "rows": [row.as_dict() for row in self.rows],
            "total": self.total.as_dict(),
            "notes": list(NOTES),
        }


def stock_date(year: int, today: date) -> date:
    """31 December of the year, or today for the current year."""
    if year > today.year:
        raise ValueError(f"year {year} is in the future")
    return today if year == today.year else date(year, 12, 31)


def enterprises_as_of(
    versions: Iterable[EnterpriseState], moment: datetime
) -> list[EnterpriseState]:
    """Each enterprise's version in effect at `moment`.

    An enterprise first registered after `moment` is taken in its first known state: the
    registry records when the hub learnt of an enterprise, not when it was founded.
    """
    chosen: dict[str, EnterpriseState] = {}
    for version in sorted(versions, key=lambda v: (v.effective_at, v.version)):
        current = chosen.get(version.uscc)
        if current is None or version.effective_at <= moment:
            chosen[version.uscc] = version
    return list(chosen.values())


class Figured(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


def named_rows(
    rows: Mapping[str, Figured], total: Figured, counties: Mapping[str, Figured]
) -> dict[str, Any]:
    """A report's `rows` (per key industry), `total` and `counties`, each with its name,
    as the inspection and training reports give them."""
    names = {k.key: k.name_zh for k in KEY_INDUSTRIES}
    return {
        "rows": [
            {"industry": key, "industry_zh": names[key]} | figures.as_dict()
            for key, figures in rows.items()
        ],
        "total": {"industry": TOTAL_KEY, "industry_zh": TOTAL_ZH} | total.as_dict(),
        "counties": [
            {"division_code": code, "division_name": divisions.name_of(code)} | figures.as_dict()
            for code, figures in counties.items()
        ],
    }


def key_industries(industry_code: str) -> tuple[str, ...]:
    """The key industries (their KEY_INDUSTRIES keys) a raw industry code is in."""
    try:
        return key_industries_of(industry_code)
    except ValueError:  # not a GB/T 4754 code: in no key-industry row
        return ()


def key_industry_report(
    *,
    division_code: str,
    year: int,
    as_of: date,
    enterprises: Iterable[EnterpriseState],
    enrollments: Iterable[EnrollmentFact],
    accidents: Iterable[AccidentFact],
) -> KeyIndustryReport:
    """The table for a division and year; `enterprises` are the states on `as_of`."""
    rows = {k.key: Row(k.key, k.name_zh, k.lists) for k in KEY_INDUSTRIES}
    total = Row(TOTAL_KEY, TOTAL_ZH, (JINING, SHANDONG))

    insured_headcount: dict[str, int] = {}
    for enrollment in enrollments:
        if enrollment.kind == "employer" and enrollment.active_on(as_of):
            uscc = enrollment.employer_uscc
            insured_headcount[uscc] = insured_headcount.get(uscc, 0) + enrollment.insured_headcount

    for enterprise in enterprises:
        if not divisions.covers(division_code, enterprise.division_code):
            continue
        keys = key_industries(enterprise.industry_code)
        targets = [rows[key] for key in keys] + ([total] if keys else [])
        for row in targets:
            figures = row.figures
            figures.enterprises += 1
            figures.employees += enterprise.employees
            if enterprise.uscc in insured_headcount:
                figures.insured_enterprises += 1
                figures.insured_employees += insured_headcount[enterprise.uscc]

    for accident in accidents:
        if accident.occurred_on.year != year or accident.occurred_on > as_of:
            continue
        if not divisions.covers(division_code, accident.division_code):
            continue
        keys = key_industries(accident.industry_code)
        for row in [rows[key] for key in keys] + ([total] if keys else []):
            row.figures.accidents += 1
            row.figures.deaths += accident.deaths

    return KeyIndustryReport(
        division_code=division_code,
        year=year,
        stock_date=as_of,
        rows=tuple(rows[k.key] for k in KEY_INDUSTRIES),
        total=total,
    )
