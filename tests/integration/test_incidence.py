"""Occupational-disease incidence in the trends JSON and page, the key-industry export and
the annual submission, in-process against the real broker and a real database: an
enterprise and its enrollment arrive as events, the diagnoses through the REST API."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook

from hubtools.kafka import LocalKafka
from tests.support import incidents as support
from tests.support.hub import wait_for
from tests.support.incidents import (
    HEALTH,
    REPORTS,
    Service,
    bearer,
    employer_events,
    new_id,
    new_uscc,
    projected_end_offsets,
    projection_caught_up,
    publish,
)

# 梁山县 and coal mining (B06: the coal-mining and the mining rows); no other module uses
# this county, and the expectations are what the answers showed before plus these cases.
DIVISION, INDUSTRY, YEAR, INSURED = "370832", "B06", 2024, 400
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

service = support.service


def _id_number(serial: int) -> str:
    body = f"3708321980{serial % 12 + 1:02d}01{serial % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def _diagnosis(uscc: str, person: str, day: date, category: int) -> dict[str, Any]:
    return {
        "diagnosis_id": new_id("ZYB"),
        "diagnosed_on": day.isoformat(),
        "patient_id_number": person,
        "patient_name": "李强",
        "category": category,
        "disease": "矽肺" if category == 1 else "其他",
        "employer": {"name": "梁山煤矿", "uscc": uscc},
        "division_code": DIVISION,
    }


def _expected_additions(seeded: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
    """(year, "all"|"dust") -> new cases, read off the seeded diagnoses by hand-rule:
    a person's earliest diagnosis is a new case, their earliest category 1 a new
    pneumoconiosis case."""
    counts: dict[tuple[int, str], int] = {}
    people = {d["patient_id_number"] for d in seeded}
    for person in people:
        own = sorted(
            (d["diagnosed_on"], d["category"]) for d in seeded if d["patient_id_number"] == person
        )
        first_year = int(own[0][0][:4])
        counts[(first_year, "all")] = counts.get((first_year, "all"), 0) + 1
        dust = [day for day, category in own if category == 1]
        if dust:
            counts[(int(dust[0][:4]), "dust")] = counts.get((int(dust[0][:4]), "dust"), 0) + 1
    return counts


async def _trends(service: Service) -> dict[str, Any]:
    answer = await service.client.get(
        "/v1/reports/trends",
        params={"division_code": DIVISION, "from_year": 2020, "to_year": YEAR},
        headers=bearer(REPORTS),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _points(trend: dict[str, Any], key: str) -> dict[int, dict[str, Any]]:
    od = trend["occupational_disease"]
    series = (
        od["total"] if key == "total" else next(s for s in od["industries"] if s["industry"] == key)
    )
    return {point["year"]: point for point in series["years"]}


def _rate(cases: int, insured: int) -> float | None:
    return None if insured == 0 else round(cases * 100_000 / insured, 4)


async def test_incidence_counts_each_person_once_against_2020(
    service: Service, kafka: LocalKafka, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ends = await projected_end_offsets(kafka.bootstrap)
    await wait_for(lambda: projection_caught_up(service, ends), what="the projection to catch up")
    before = {key: _points(await _trends(service), key) for key in ("total", "coal_mining")}

    uscc = new_uscc(DIVISION)
    await publish(kafka, employer_events(uscc, DIVISION, INDUSTRY, 500, INSURED))
    a, b, c, d = (_id_number(n) for n in (11, 12, 13, 14))
    seeded = [
        _diagnosis(uscc, a, date(2020, 4, 1), 1),
        _diagnosis(uscc, a, date(YEAR, 4, 1), 1),  # a repeat: counts nowhere
        _diagnosis(uscc, b, date(2020, 6, 1), 5),
        _diagnosis(uscc, b, date(YEAR, 6, 1), 1),  # b's first pneumoconiosis
        _diagnosis(uscc, c, date(YEAR, 7, 1), 1),
        _diagnosis(uscc, d, date(YEAR, 8, 1), 2),
    ]
    for body in seeded:
        response = await service.post("/v1/diseases", body, HEALTH)
        assert response.status_code == 201, response.text
    added = _expected_additions(seeded)

    async def projected() -> bool:
        points = _points(await _trends(service), "total")
        return (
            points[YEAR]["insured_employees"]
            == before["total"][YEAR]["insured_employees"] + INSURED
        )

    await wait_for(projected, what="the projection of the employer")
    trend = await _trends(service)
    text = str(trend)
    assert all(person not in text for person in (a, b, c, d))
    expected: dict[str, dict[int, dict[str, Any]]] = {}
    for key in ("total", "coal_mining"):
        points = _points(trend, key)
        expected[key] = {}
        for year in (2020, YEAR):
            insured = before[key][year]["insured_employees"] + INSURED
            cases = before[key][year]["new_cases"] + added.get((year, "all"), 0)
            dust = before[key][year]["pneumoconiosis_cases"] + added.get((year, "dust"), 0)
            expected[key][year] = {
                "insured_employees": insured,
                "new_cases": cases,
                "incidence_per_100k": _rate(cases, insured),
                "pneumoconiosis_cases": dust,
                "pneumoconiosis_per_100k": _rate(dust, insured),
            }
            assert {k: points[year][k] for k in expected[key][year]} == expected[key][year]
        base, last = expected[key][2020], expected[key][YEAR]
        for measure, prefix in (
            ("incidence_per_100k", "incidence"),
            ("pneumoconiosis_per_100k", "pneumoconiosis"),
        ):
            assert points[YEAR][f"{prefix}_baseline_per_100k"] == base[measure]
            want = (
                "rising"
                if last[measure] > base[measure]
                else ("falling" if last[measure] < base[measure] else "flat")
            )
            assert points[YEAR][f"{prefix}_direction"] == want
            previous = points[YEAR - 1][measure]
            assert points[YEAR][f"{prefix}_increased"] == (
                None if previous is None else last[measure] > previous
            )
    county = trend["occupational_disease"]["counties"][0]
    assert county["division_code"] == DIVISION
    assert county["new_cases"] == expected["total"][YEAR]["new_cases"]

    await _check_exports(service, expected["total"][YEAR])
    page = await service.client.get(
        "/reports/trends",
        params={"division_code": DIVISION, "from_year": 2020, "to_year": YEAR},
        headers={"Authorization": f"Bearer {REPORTS}"},
    )
    assert page.status_code == 200
    assert 'id="occupational-disease"' in page.text
    assert all(person not in page.text for person in (a, b, c, d))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert all(person not in logged for person in (a, b, c, d))


async def _check_exports(service: Service, total: dict[str, Any]) -> None:
    url, params = "/v1/reports/key-industries", {"division_code": DIVISION, "year": YEAR}
    as_csv = await service.client.get(
        url, params=params | {"format": "csv"}, headers=bearer(REPORTS)
    )
    lines = list(csv.DictReader(io.StringIO(as_csv.text)))
    header = as_csv.text.splitlines()[0].split(",")
    assert header.index("new_cases") > header.index("deaths_per_1000_employees")
    line = next(row for row in lines if row["industry"] == "total")
    assert int(line["new_cases"]) == total["new_cases"]
    assert int(line["pneumoconiosis_cases"]) == total["pneumoconiosis_cases"]
    assert float(line["incidence_per_100k"]) == total["incidence_per_100k"]

    as_xlsx = await service.client.get(
        url, params=params | {"format": "xlsx"}, headers=bearer(REPORTS)
    )
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).worksheets[0]
    rows = list(sheet.iter_rows(min_row=5, values_only=True))
    assert rows[0][8] == "备注" and rows[0][9] == "职业病新发病例数"
    total_row = next(row for row in rows if row[0] == "合计")
    assert total_row[9:13] == (
        total["new_cases"],
        total["incidence_per_100k"],
        total["pneumoconiosis_cases"],
        total["pneumoconiosis_per_100k"],
    )

    submission = await service.client.get(
        "/v1/reports/annual-submission", params=params | {"format": "xlsx"}, headers=bearer(REPORTS)
    )
    book = load_workbook(io.BytesIO(submission.content))
    assert "职业病发生率" in book.sheetnames
    sheet_rows = list(book["职业病发生率"].iter_rows(min_row=4, values_only=True))
    last_total = next(r for r in sheet_rows if r[0] == "合计" and r[1] == YEAR)
    assert last_total[2:4] == (total["new_cases"], total["incidence_per_100k"])
