"""Floating-rate suggestions (浮动费率) per employer, as pure functions over plain data.

docs/domain.md, "Floating-rate advice": class 1 may only float up (120%, 150%); classes 2-8
float up or down one or two tiers (50%, 80%, 100%, 120%, 150%), from the employer's injury
rate and fund usage rate.
The thresholds below are a local choice, documented in `TIER_NOTES`:
- ratio = the employer's injury rate ÷ its industry's average (same GB/T 4754 division,
  same area): ≥ 2 → 150%, ≥ 1.2 → 120%, > 0.8 → 100%, > 0.5 → 80%, else 50%;
- the hub holds no fund data (benefits paid, premiums paid): fund usage is null, and
  without it no employer is suggested more than one tier down (80%);
- when fund usage is known it can only raise the tier: > 100% → at least 120%,
  > 150% → 150%;
- class 1 never goes below 100%; an employer without insured employees, without a risk
  class or whose industry had no accidents keeps 100% (no basis to compare).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from hub_shared.domain import divisions
from hub_shared.domain.industries import BASE_RATE_PERCENT, normalize_industry_code, risk_class_of
from hub_shared.spreadsheets import neutral_fields
from incidents.reports.key_industries import EnrollmentFact

TIERS_CLASS_1: Final = (100, 120, 150)
TIERS: Final = (50, 80, 100, 120, 150)
FUND_NOTE: Final = "本平台无工伤保险基金收支数据, 基金支缴率未知, 下浮最多一档"
TIER_NOTES: Final[tuple[str, ...]] = (
    "工伤发生率(‰) = 当年事故数 ÷ 统计日参保人数 × 1000; 行业平均 = 同区域同行业大类的合计。",
    "比值 = 本单位发生率 ÷ 行业平均: ≥2 上浮两档(150%), ≥1.2 上浮一档(120%), "
    ">0.8 不浮动(100%), >0.5 下浮一档(80%), 其余下浮两档(50%)。",
    "一类行业只上浮不下浮; 基金支缴率未知时最多下浮一档; "
    "基金支缴率 >100% 至少 120%, >150% 为 150%。",
    "未参保、无风险类别或行业当年无事故的单位维持 100%。",
)


@dataclass(frozen=True)
class Employer:
    uscc: str
    name: str
    division_code: str
    industry_code: str


@dataclass(frozen=True)
class EmployerAccident:
    employer_uscc: str
    occurred_on: date


@dataclass(frozen=True)
class Tier:
    percent: int
    reasoning: str


def _rate_tier(ratio: float) -> int:
    if ratio >= 2:
        return 150
    if ratio >= 1.2:
        return 120
    if ratio > 0.8:
        return 100
    if ratio > 0.5:
        return 80
    return 50


def suggest_tier(
    *,
    risk_class: int | None,
    insured_employees: int,
    injury_rate: float | None,
    industry_average: float | None,
    fund_usage: float | None,
) -> Tier:
    """The suggested floating tier (% of the base rate) and why."""
    if risk_class is None:
        return Tier(100, "行业未列入风险类别表, 不作浮动建议")
    if insured_employees == 0 or injury_rate is None:
        return Tier(100, "无有效参保人数, 无法计算工伤发生率, 维持基准费率")
    if not industry_average:
        return Tier(100, "同行业当年无事故, 无可比基础, 维持基准费率")
    ratio = injury_rate / industry_average
    tier = _rate_tier(ratio)
    reasons = [
        f"工伤发生率 {injury_rate:.2f}‰, 行业平均 {industry_average:.2f}‰, 比值 {ratio:.3f},"
        f" 按发生率为 {tier}%"
    ]
    if fund_usage is None:
        if tier < 80:
            tier = 80
            reasons.append(FUND_NOTE + ", 调整为 80%")
        else:
            reasons.append(FUND_NOTE)
    else:
        floor = 150 if fund_usage > 1.5 else 120 if fund_usage > 1.0 else 0
        if floor > tier:
            tier = floor
            reasons.append(f"基金支缴率 {fund_usage:.0%}, 上调为 {tier}%")
        else:
            reasons.append(f"基金支缴率 {fund_usage:.0%}")
    if risk_class == 1 and tier < 100:
        tier = 100
        reasons.append("一类行业只上浮不下浮, 维持 100%")
    return Tier(tier, "; ".join(reasons))


def _rate(accidents: int, insured: int) -> float | None:
    return None if insured == 0 else round(accidents * 1000 / insured, 4)


def _industry(code: str) -> str | None:
    try:
        return normalize_industry_code(code)
    except ValueError:
        return None


@dataclass(frozen=True)
class Advice:
    employer: Employer
    industry_division: str | None
    risk_class: int | None
    insured_employees: int
    accidents: int
    injury_rate: float | None
    industry_average: float | None
    tier: Tier

    def as_dict(self) -> dict[str, Any]:
        base = BASE_RATE_PERCENT.get(self.risk_class) if self.risk_class else None
        return {
            "uscc": self.employer.uscc,
            "name": self.employer.name,
            "division_code": self.employer.division_code,
            "industry_code": self.employer.industry_code,
            "industry_division": self.industry_division,
            "risk_class": self.risk_class,
            "base_rate_percent": base,
            "insured_employees": self.insured_employees,
            "accidents": self.accidents,
            "injury_rate_per_1000": self.injury_rate,
            "industry_average_per_1000": self.industry_average,
            "fund_usage_rate": None,
            "suggested_tier_percent": self.tier.percent,
            "suggested_rate_percent": (
                round(base * self.tier.percent / 100, 4) if base is not None else None
            ),
            "reasoning": self.tier.reasoning,
        }


# as_dict methods alike in shape to reports.py's and trends.py's: each renders its own report.
@dataclass(frozen=True)
class FloatingRateReport:
    division_code: str
    year: int
    as_of: date
    employers: tuple[Advice, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "division_code": self.division_code,
            "division_name": divisions.name_of(self.division_code),
            "year": self.year,
            "stock_date": self.as_of.isoformat(),
            "fund_usage_known": False,
            "fund_usage_note": FUND_NOTE,
            "employers": [item.as_dict() for item in self.employers],
            "notes": list(TIER_NOTES),
        }


def floating_rate_report(
    *,
    division_code: str,
    year: int,
    as_of: date,
    employers: Iterable[Employer],
    enrollments: Iterable[EnrollmentFact],
    accidents: Iterable[EmployerAccident],
) -> FloatingRateReport:
    """Every employer of the division (its state on `as_of`) with its suggested tier."""
    scoped = sorted(
        (e for e in employers if divisions.covers(division_code, e.division_code)),
        key=lambda e: e.uscc,
    )
    insured: dict[str, int] = {}
    for enrollment in enrollments:
        if enrollment.kind == "employer" and enrollment.active_on(as_of):
            uscc = enrollment.employer_uscc
            insured[uscc] = insured.get(uscc, 0) + enrollment.insured_headcount
    counts: dict[str, int] = {}
    for accident in accidents:
        if accident.occurred_on.year == year and accident.occurred_on <= as_of:
            counts[accident.employer_uscc] = counts.get(accident.employer_uscc, 0) + 1
    totals: dict[str, list[int]] = {}  # industry division -> [accidents, insured]
    for employer in scoped:
        industry = _industry(employer.industry_code)
        if industry is not None:
            total = totals.setdefault(industry, [0, 0])
            total[0] += counts.get(employer.uscc, 0) if employer.uscc in insured else 0
            total[1] += insured.get(employer.uscc, 0)
    advices = []
    for employer in scoped:
        industry = _industry(employer.industry_code)
        risk_class = risk_class_of(industry) if industry else None
        staff = insured.get(employer.uscc, 0)
        rate = _rate(counts.get(employer.uscc, 0), staff)
        average = _rate(*totals[industry]) if industry else None
        tier = suggest_tier(
            risk_class=risk_class,
            insured_employees=staff,
            injury_rate=rate,
            industry_average=average,
            fund_usage=None,
        )
        accidents_of = counts.get(employer.uscc, 0)
        advices.append(
            Advice(employer, industry, risk_class, staff, accidents_of, rate, average, tier)
        )
    return FloatingRateReport(division_code, year, as_of, tuple(advices))


CSV_FIELDS: Final = (
    "uscc",
    "name",
    "division_code",
    "industry_code",
    "industry_division",
    "risk_class",
    "base_rate_percent",
    "insured_employees",
    "accidents",
    "injury_rate_per_1000",
    "industry_average_per_1000",
    "fund_usage_rate",
    "suggested_tier_percent",
    "suggested_rate_percent",
    "reasoning",
)


def to_csv(report: FloatingRateReport) -> str:
    """One header row, one line per employer; unknown values are empty."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for item in report.employers:
        writer.writerow(
            neutral_fields({k: ("" if v is None else v) for k, v in item.as_dict().items()})
        )
    return out.getvalue()
