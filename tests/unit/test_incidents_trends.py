"""The accident-rate trend: the target line, on-track flags, per-industry series, the total
and the county comparison, against figures worked out by hand here."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub_shared.domain.divisions import county_codes
from incidents.reports.key_industries import AccidentFact, EnrollmentFact, EnterpriseState
from incidents.reports.trends import compute, on_track, target_rate

TODAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
EARLY = datetime(2019, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2019, 10.0), (2020, 10.0), (2021, 9.6), (2022, 9.2), (2023, 8.8), (2024, 8.4),
     (2025, 8.0), (2026, 8.0)],
)  # fmt: skip
def test_target_falls_linearly_to_80_percent_of_the_baseline_by_2025(
    year: int, expected: float
) -> None:
    assert target_rate(10.0, year) == pytest.approx(expected)


def test_without_a_baseline_there_is_no_target_and_no_verdict() -> None:
    assert target_rate(None, 2023) is None
    assert on_track(None, 8.0) is None
    assert on_track(7.0, None) is None


def test_on_track_means_at_or_below_the_target() -> None:
    assert on_track(8.0, 8.0) is True
    assert on_track(7.9, 8.0) is True
    assert on_track(8.01, 8.0) is False


def _enterprise(uscc: str, division: str, code: str, employees: int) -> EnterpriseState:
    return EnterpriseState(uscc, division, code, employees, EARLY, version=uscc)


def _accidents(division: str, code: str, year: int, count: int) -> list[AccidentFact]:
    return [
        AccidentFact(f"{division}-{code}-{year}-{n}", division, code, date(year, 6, 1), 0)
        for n in range(count)
    ]


def _facts() -> tuple[list[EnterpriseState], list[EnrollmentFact], list[AccidentFact]]:
    # 任城区: a builder (1000 insured) and a coal mine (500 insured); 兖州区: a builder
    # (2000 insured). Enrolled since 2019, so every year-end counts them.
    enterprises = [
        _enterprise("B1", "370811", "E47", 1200),
        _enterprise("M1", "370811", "B06", 600),
        _enterprise("B2", "370812", "48", 2500),
    ]
    enrollments = [
        EnrollmentFact("B1", "employer", 1000, date(2019, 1, 1)),
        EnrollmentFact("M1", "employer", 500, date(2019, 1, 1)),
        EnrollmentFact("B2", "employer", 2000, date(2019, 1, 1)),
        EnrollmentFact("B2", "project", 9999, date(2019, 1, 1)),  # never counted
    ]
    accidents = [
        *_accidents("370811", "47", 2020, 10),  # builder 10/1000 = 10‰
        *_accidents("370811", "47", 2021, 9),  # 9‰ (target 9.6: on track)
        *_accidents("370811", "47", 2022, 10),  # 10‰ (target 9.2: not)
        *_accidents("370811", "06", 2020, 5),  # mine 5/500 = 10‰
        *_accidents("370811", "06", 2021, 4),  # 8‰
        *_accidents("370811", "06", 2022, 2),  # 4‰
        *_accidents("370812", "48", 2020, 4),  # 兖州 4/2000 = 2‰
        *_accidents("370812", "48", 2022, 1),  # 0.5‰
    ]
    return enterprises, enrollments, accidents


def _series(report: dict[str, object], key: str) -> dict[str, object]:
    industries = report["industries"]
    assert isinstance(industries, list)
    return next(s for s in industries if s["industry"] == key)


def test_city_trend_per_industry_total_and_counties() -> None:
    enterprises, enrollments, accidents = _facts()
    report = compute(
        division_code="370800",
        years=[2020, 2021, 2022],
        today=TODAY,
        now=NOW,
        versions=enterprises,
        enrollments=enrollments,
        accidents=accidents,
    ).as_dict()

    construction = _series(report, "construction")
    # builders: 1000 + 2000 insured; 14, 9, 11 accidents
    assert construction["baseline_per_1000"] == round(14000 / 3000, 4)
    rates = [p["accident_rate_per_1000"] for p in construction["years"]]
    assert rates == [pytest.approx(round(n * 1000 / 3000, 4)) for n in (14, 9, 11)]
    targets = [p["target_per_1000"] for p in construction["years"]]
    assert targets == [pytest.approx(round(14 / 3 * f, 4), abs=1e-4) for f in (1, 0.96, 0.92)]
    assert [p["on_track"] for p in construction["years"]] == [True, True, True]

    coal = _series(report, "coal_mining")
    assert [p["accident_rate_per_1000"] for p in coal["years"]] == [10.0, 8.0, 4.0]
    assert [p["on_track"] for p in coal["years"]] == [True, True, True]
    assert _series(report, "mining")["baseline_per_1000"] == 10.0
    assert _series(report, "metallurgy")["baseline_per_1000"] is None
    assert [p["on_track"] for p in _series(report, "metallurgy")["years"]] == [None] * 3

    total = report["total"]
    assert isinstance(total, dict)
    # 3500 insured; 19, 13, 13 accidents
    assert total["baseline_per_1000"] == pytest.approx(round(19000 / 3500, 4))
    assert [p["accidents"] for p in total["years"]] == [19, 13, 13]
    assert [p["insured_employees"] for p in total["years"]] == [3500] * 3

    counties = {c["division_code"]: c for c in report["counties"]}
    assert set(counties) == set(county_codes())
    rencheng, yanzhou = counties["370811"], counties["370812"]
    assert rencheng["year"] == 2022
    assert rencheng["baseline_per_1000"] == 10.0  # 15 / 1500
    assert rencheng["accident_rate_per_1000"] == pytest.approx(round(12000 / 1500, 4))
    assert rencheng["target_per_1000"] == pytest.approx(9.2)
    assert rencheng["on_track"] is True
    assert yanzhou["accident_rate_per_1000"] == 0.5
    assert counties["370826"]["accident_rate_per_1000"] is None
    assert counties["370826"]["on_track"] is None


def test_county_trend_shows_only_its_own_county_and_its_own_figures() -> None:
    enterprises, enrollments, accidents = _facts()
    report = compute(
        division_code="370811",
        years=[2021, 2022],
        today=TODAY,
        now=NOW,
        versions=enterprises,
        enrollments=enrollments,
        accidents=accidents,
    ).as_dict()
    assert [c["division_code"] for c in report["counties"]] == ["370811"]
    assert report["from_year"] == 2021
    construction = _series(report, "construction")
    # the baseline is 2020's even when 2020 is not shown
    assert construction["baseline_per_1000"] == 10.0
    assert [p["year"] for p in construction["years"]] == [2021, 2022]
    assert [p["accident_rate_per_1000"] for p in construction["years"]] == [9.0, 10.0]
    assert [p["on_track"] for p in construction["years"]] == [True, False]
    assert report["total"]["years"][1]["insured_employees"] == 1500
