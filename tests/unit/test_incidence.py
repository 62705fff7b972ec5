"""Occupational-disease incidence (incidents/incidence): new cases per 100,000 insured
employees, each person once, pneumoconiosis on its own, against 2020."""

from __future__ import annotations

from datetime import UTC, date, datetime

from incidents.incidence.figures import DiagnosisFact, first_diagnoses, incidence_table
from incidents.incidence.trend import direction, increased, years_needed
from incidents.reports.key_industries import EnrollmentFact, EnterpriseState, key_industry_report

AT = datetime(2019, 1, 1, tzinfo=UTC)
COAL, CHEMICAL = "91370832COAL00001", "91370832CHEM00001"


def _dx(n: int, person: str, day: date, category: int = 1, uscc: str = COAL) -> DiagnosisFact:
    return DiagnosisFact(f"D{n:03d}", person, category, uscc, "370832", day)


DIAGNOSES = [
    _dx(1, "p1", date(2020, 3, 1)),
    _dx(2, "p1", date(2021, 3, 1)),  # repeat of p1: counts nowhere
    _dx(3, "p2", date(2020, 5, 1), category=5),
    _dx(4, "p2", date(2021, 5, 1)),  # p2's first pneumoconiosis, not a new case
    _dx(5, "p3", date(2021, 7, 1), uscc=CHEMICAL),
    _dx(6, "p4", date(2021, 8, 1), category=2, uscc="91370832UNKNOWN01"),
]


def test_a_person_counts_once_and_pneumoconiosis_on_its_own() -> None:
    new = {d.diagnosis_id for d in first_diagnoses(reversed(DIAGNOSES))}
    dust = {d.diagnosis_id for d in first_diagnoses(DIAGNOSES, category=1)}
    assert new == {"D001", "D003", "D005", "D006"}
    assert dust == {"D001", "D004", "D005"}


def _table(year: int) -> dict[str, dict[str, object]]:
    enterprises = [
        EnterpriseState(COAL, "370832", "0610", 900, AT, "v1"),
        EnterpriseState(CHEMICAL, "370832", "26", 500, AT, "v2"),
    ]
    enrollments = [
        EnrollmentFact(COAL, "employer", 800, date(2019, 1, 1)),
        EnrollmentFact(CHEMICAL, "employer", 400, date(2019, 1, 1)),
    ]
    base = key_industry_report(
        division_code="370832", year=year, as_of=date(year, 12, 31),
        enterprises=enterprises, enrollments=enrollments, accidents=(),
    )  # fmt: skip
    table = incidence_table(
        table=base,
        enterprises=enterprises,
        new_cases=first_diagnoses(DIAGNOSES),
        new_pneumoconiosis=first_diagnoses(DIAGNOSES, category=1),
    )
    return {row.industry: row.as_dict() for row in (*table.rows, table.total)}


def test_incidence_per_100k_per_key_industry_and_total() -> None:
    rows_2021 = _table(2021)
    coal = rows_2021["coal_mining"]
    assert (coal["new_cases"], coal["pneumoconiosis_cases"]) == (0, 1)
    assert coal["pneumoconiosis_per_100k"] == round(1 * 100_000 / 800, 4)
    chemical = rows_2021["hazardous_chemicals"]
    assert chemical["new_cases"] == 1
    assert chemical["incidence_per_100k"] == round(100_000 / 400, 4)
    total = rows_2021["total"]
    assert (total["new_cases"], total["pneumoconiosis_cases"]) == (1, 2)
    assert total["insured_employees"] == 1200
    assert total["incidence_per_100k"] == round(100_000 / 1200, 4)
    rows_2020 = _table(2020)
    assert (rows_2020["total"]["new_cases"], rows_2020["total"]["pneumoconiosis_cases"]) == (2, 1)


def test_direction_against_the_baseline_and_increase_over_the_year_before() -> None:
    assert direction(1.0, 2.0) == "falling"
    assert direction(3.0, 2.0) == "rising"
    assert direction(2.0, 2.0) == "flat"
    assert direction(None, 2.0) is None and direction(1.0, None) is None
    assert increased(3.0, 2.0) is True and increased(2.0, 2.0) is False
    assert increased(None, 1.0) is None
    assert years_needed([2022, 2023], 2026) == [2020, 2021, 2022, 2023]
