"""Floating-rate tiers: class 1 only up, classes 2-8 up or down two tiers, no more than one
tier down while the fund usage is unknown, and the per-employer report."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from incidents.reports.advice import (
    Employer,
    EmployerAccident,
    floating_rate_report,
    suggest_tier,
    to_csv,
)
from incidents.reports.key_industries import EnrollmentFact


def _tier(
    risk_class: int | None,
    rate: float | None,
    average: float | None,
    fund_usage: float | None = None,
    insured: int = 100,
) -> int:
    return suggest_tier(
        risk_class=risk_class,
        insured_employees=insured,
        injury_rate=rate,
        industry_average=average,
        fund_usage=fund_usage,
    ).percent


@pytest.mark.parametrize(
    ("rate", "fund_usage", "expected"),
    [
        (20.0, None, 150),  # twice the average
        (12.0, None, 120),  # 1.2 times
        (11.9, None, 100),
        (8.1, None, 100),
        (8.0, None, 80),  # 0.8 times: one tier down
        (0.0, None, 80),  # would be 50%, but the fund usage is unknown
        (0.0, 0.3, 50),  # known and low: two tiers down
        (5.0, 0.3, 50),  # 0.5 times
        (5.1, 0.3, 80),
        (0.0, 1.2, 120),  # fund usage over 100% raises to at least 120%
        (12.0, 1.6, 150),  # over 150%: 150%
        (25.0, 0.1, 150),  # a low fund usage never lowers the rate-based tier
    ],
)
def test_classes_2_to_8_float_two_tiers_each_way(
    rate: float, fund_usage: float | None, expected: int
) -> None:
    for risk_class in range(2, 9):
        assert _tier(risk_class, rate, 10.0, fund_usage) == expected


@pytest.mark.parametrize(
    ("rate", "fund_usage", "expected"),
    [(0.0, None, 100), (0.0, 0.1, 100), (5.0, 0.3, 100), (12.0, None, 120), (30.0, None, 150)],
)
def test_class_1_only_floats_up(rate: float, fund_usage: float | None, expected: int) -> None:
    assert _tier(1, rate, 10.0, fund_usage) == expected


def test_no_basis_keeps_the_base_rate_and_says_why() -> None:
    assert _tier(None, 50.0, 10.0) == 100
    assert _tier(4, None, 10.0, insured=0) == 100
    assert _tier(4, 0.0, 0.0) == 100
    assert _tier(4, 0.0, None) == 100
    tier = suggest_tier(
        risk_class=4, insured_employees=0, injury_rate=None, industry_average=1.0, fund_usage=None
    )
    assert "参保" in tier.reasoning


def test_reasoning_names_the_rates_and_the_missing_fund_data() -> None:
    tier = suggest_tier(
        risk_class=6,
        insured_employees=100,
        injury_rate=20.0,
        industry_average=10.0,
        fund_usage=None,
    )
    assert tier.percent == 150
    assert "20.00‰" in tier.reasoning and "10.00‰" in tier.reasoning
    assert "基金" in tier.reasoning


def test_report_per_employer_against_its_industry_average() -> None:
    employers = [
        Employer("A", "甲建筑", "370811", "E47"),  # class 6
        Employer("B", "乙建筑", "370811", "4711"),  # same division 47
        Employer("C", "丙软件", "370811", "I65"),  # class 1
        Employer("D", "丁建筑", "370812", "E47"),  # another county
        Employer("E", "戊建筑", "370811", "E47"),  # not insured
    ]
    enrollments = [
        EnrollmentFact("A", "employer", 100, date(2020, 1, 1)),
        EnrollmentFact("B", "employer", 300, date(2020, 1, 1)),
        EnrollmentFact("C", "employer", 50, date(2020, 1, 1)),
        EnrollmentFact("D", "employer", 100, date(2020, 1, 1)),
        EnrollmentFact("E", "employer", 100, date(2020, 1, 1), terminated_on=date(2021, 6, 30)),
    ]
    accidents = [
        *(EmployerAccident("A", date(2021, 3, 1)) for _ in range(4)),
        EmployerAccident("A", date(2020, 3, 1)),  # another year
        EmployerAccident("C", date(2021, 3, 1)),
        *(EmployerAccident("D", date(2021, 3, 1)) for _ in range(9)),
        EmployerAccident("E", date(2021, 3, 1)),  # uninsured: in no average
    ]
    report = floating_rate_report(
        division_code="370811",
        year=2021,
        as_of=date(2021, 12, 31),
        employers=employers,
        enrollments=enrollments,
        accidents=accidents,
    ).as_dict()
    rows = {row["uscc"]: row for row in report["employers"]}
    assert set(rows) == {"A", "B", "C", "E"}
    assert report["fund_usage_known"] is False

    a, b, c, e = rows["A"], rows["B"], rows["C"], rows["E"]
    # division 47 in 任城区: 4 accidents over 400 insured = 10‰; A: 40‰, B: 0‰
    assert a["industry_average_per_1000"] == 10.0
    assert (a["risk_class"], a["base_rate_percent"]) == (6, 1.3)
    assert (a["injury_rate_per_1000"], a["suggested_tier_percent"]) == (40.0, 150)
    assert a["suggested_rate_percent"] == pytest.approx(1.95)
    assert (b["injury_rate_per_1000"], b["suggested_tier_percent"]) == (0.0, 80)
    assert a["fund_usage_rate"] is None
    # software alone in its division: its rate is the average: 100%
    assert (c["risk_class"], c["injury_rate_per_1000"], c["suggested_tier_percent"]) == (
        1,
        20.0,
        100,
    )
    assert (e["insured_employees"], e["injury_rate_per_1000"]) == (0, None)
    assert e["suggested_tier_percent"] == 100

    lines = list(csv.DictReader(io.StringIO(to_csv(floating_rate_report(
        division_code="370811",
        year=2021,
        as_of=date(2021, 12, 31),
        employers=employers,
        enrollments=enrollments,
        accidents=accidents,
    )))))  # fmt: skip
    assert [line["uscc"] for line in lines] == ["A", "B", "C", "E"]
    assert lines[0]["suggested_tier_percent"] == "150"
    assert lines[0]["fund_usage_rate"] == ""
