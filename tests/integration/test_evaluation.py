"""The plan's evaluation (and the three goals in the annual submission and on the trends
page), in-process against the real broker and a real database. 微山县 (370826, SQLite run)
and 鱼台县 (370827, PostgreSQL run) get enterprises from no other test, so a county's
figures are exactly what this test seeds, worked out here by hand."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from hubtools.kafka import LocalKafka
from incidents.app import create_app as incidents_app
from tests.support.hub import bearer, running, settings_for, wait_for
from tests.support.hub import write_config as hub_config
from tests.support.incidents import accident, employer_events, new_id, new_uscc, publish

STAFF = "evaluation-staff-token"  # every scope the seeding needs, and reports:read
INDUSTRY, INSURED = "E47", 200
COUNTY_OF_BACKEND = {"sqlite": ("370826", "微山县"), "postgresql": ("370827", "鱼台县")}
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@pytest.fixture
def county(database_url: str) -> tuple[str, str]:
    """The county of this backend's run."""
    return COUNTY_OF_BACKEND[database_url.split("+", 1)[0]]


@pytest.fixture
async def incidents(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    config = hub_config(tmp_path / "hub.toml")
    with config.open("a", encoding="utf-8") as out:
        out.write(f"""
[[clients]]
id = "staff"
token = "{STAFF}"
scopes = [
  "accidents:write", "diseases:write", "training:write", "inspections:write", "reports:read"
]
divisions = ["370800"]
""")
    settings = settings_for(
        "incidents",
        config=config,
        bootstrap=kafka.bootstrap,
        database_url=database_url,
        data_dir=tmp_path,
    )
    async with running(incidents_app(settings)) as client:
        yield client


def _id_number(serial: int) -> str:
    body = f"3708261979{serial % 12 + 1:02d}0{serial % 10}{serial % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
    answer = await client.post(path, json=body, headers=bearer(STAFF))
    assert answer.status_code == 201, answer.text


async def _seed(client: httpx.AsyncClient, kafka: LocalKafka, division: str) -> None:
    uscc = new_uscc(division)
    await publish(kafka, employer_events(uscc, division, INDUSTRY, 260, INSURED))
    for year, count in ((2020, 2), (2023, 1)):
        for n in range(count):
            await _post(client, "/v1/accidents", accident(uscc, division, INDUSTRY, year, n))
    a, b, c, d = (_id_number(n) for n in range(31, 35))
    employer = {"name": "微山建工", "uscc": uscc}
    for person, day, category in (
        (a, "2020-03-01", 1),
        (b, "2020-04-01", 5),
        (c, "2023-05-01", 1),
        (a, "2023-06-01", 1),
    ):
        await _post(
            client,
            "/v1/diseases",
            {
                "diagnosis_id": new_id("ZYB"),
                "diagnosed_on": day,
                "patient_id_number": person,
                "patient_name": "赵敏",
                "category": category,
                "disease": "尘肺",
                "employer": employer,
                "division_code": division,
            },
        )
    roles = ("leader_in_charge", "safety_head", "team_leader", "team_leader")
    for person, role in zip((a, b, c, d), roles, strict=True):
        await _post(
            client,
            "/v1/key-personnel",
            {
                "enterprise": employer,
                "division_code": division,
                "industry_code": INDUSTRY,
                "role": role,
                "person_id_number": person,
                "person_name": "钱进",
                "listed_on": "2021-03-01",
            },
        )
    for person, day in ((a, "2022-01-10"), (b, "2022-02-10"), (c, "2023-11-10"), (d, "2024-03-10")):
        await _post(
            client,
            "/v1/training-completions",
            {
                "completion_id": new_id("PX"),
                "person_id_number": person,
                "course": "工伤预防",
                "hours": 4,
                "completed_on": day,
                "trainer": "微山县职业培训学校",
            },
        )
    await _post(
        client,
        "/v1/inspections",
        {
            "inspection_id": new_id("LJ"),
            "inspected_on": "2023-02-01",
            "departments": ["hrss", "housing"],
            "enterprise": employer,
            "division_code": division,
            "industry_code": INDUSTRY,
            "findings": [
                {
                    "finding_id": new_id("ZG"),
                    "kind": "safety_hazard",
                    "description": "临边防护缺失",
                    "deadline": "2023-03-01",
                    "responsible_department": "housing",
                },
                {
                    "finding_id": new_id("ZG"),
                    "kind": "accident_precursor",
                    "description": "塔吊超载",
                    "deadline": "2023-05-01",
                    "responsible_department": "emergency",
                },
            ],
        },
    )


# What the seeds give, by hand (2023 is the mid-term year):
# accidents 2020: 2, 2023: 1, insured 200 -> 10‰ and 5‰; target 10 × (1 − 0.2 × 3/5) = 8.8
# new cases 2020: a, b; 2023: c (a's 2023 diagnosis repeats) -> 1000 and 500 per 100,000
# new pneumoconiosis 2020: a; 2023: c -> 500 and 500: not below the baseline
# coverage at 2023-12-31: a, b, c of four -> 0.75 against 3/5 = 0.6; one untrained
# inspection 2023: one finding rectified late, one open past its deadline
EXPECTED_GOALS = (5.0, 10.0, 8.8, "是", 500.0, 1000.0, "是", 500.0, 500.0, "否", 0.75, 0.6, "是", 1)


async def test_evaluation_holds_the_three_goals_per_county_and_for_the_city(
    incidents: httpx.AsyncClient, kafka: LocalKafka, county: tuple[str, str]
) -> None:
    division, name = county
    expected = (name, *EXPECTED_GOALS)
    await _seed(incidents, kafka, division)

    async def projected() -> bool:
        answer = await incidents.get(
            "/v1/reports/trends",
            params={"division_code": division, "from_year": 2023, "to_year": 2023},
            headers=bearer(STAFF),
        )
        return bool(answer.json()["total"]["years"][0]["insured_employees"] == INSURED)

    await wait_for(projected, timeout=60, what="the projection of the employer")
    rectified = await incidents.get(
        "/v1/reports/inspections",
        params={"division_code": division, "year": 2023},
        headers=bearer(STAFF),
    )
    assert rectified.json()["total"]["overdue"] == 2  # both findings are open past their deadline

    own = await _evaluation(incidents, division)
    goals = own["三项目标"]
    rows = [r for r in goals.iter_rows(min_row=4, values_only=True) if r[0]]
    assert rows[0] == expected
    tables = {sheet: own[sheet] for sheet in ("2020 年重点行业", "2023 年重点行业")}
    for sheet, accidents in (("2020 年重点行业", 2), ("2023 年重点行业", 1)):
        total = next(r for r in tables[sheet].iter_rows(values_only=True) if r[0] == "合计")
        assert total[4] == INSURED and total[6] == accidents
    record = next(r for r in own["检查整改"].iter_rows(values_only=True) if r[0] == "合计")
    assert record[1:] == (1, 2, 0, 0, 2, 2, 0.0)
    assert own["指标定义"]["A1"].value == "重点行业企业基本情况表"

    city = await _evaluation(incidents, "370800")
    city_rows = {r[0]: r for r in city["三项目标"].iter_rows(min_row=4, values_only=True) if r[0]}
    assert city_rows[name] == expected and "济宁市" in city_rows and len(city_rows) >= 12

    page = await incidents.get(
        "/v1/reports/evaluation",
        params={"division_code": division, "period": "midterm"},
        headers={"Authorization": f"Bearer {STAFF}"},
    )
    assert page.status_code == 200 and "中期评估" in page.text and 'id="goals"' in page.text
    final = await incidents.get(
        "/v1/reports/evaluation",
        params={"division_code": division, "period": "final"},
        headers=bearer(STAFF),
    )
    assert final.status_code == 200 and "总结评估" in final.text
    bad = await incidents.get(
        "/v1/reports/evaluation",
        params={"division_code": "123", "period": "soon"},
        headers=bearer(STAFF),
    )
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["errors"]} == {"division_code", "period"}

    submission = await incidents.get(
        "/v1/reports/annual-submission",
        params={"division_code": division, "year": 2023, "format": "xlsx"},
        headers=bearer(STAFF),
    )
    book = load_workbook(io.BytesIO(submission.content))
    filed = next(r for r in book["检查整改"].iter_rows(values_only=True) if r[0] == "合计")
    assert filed[1:] == (1, 2, 0, 0, 2, 2, 0.0)
    assert (
        next(r for r in book["三项目标"].iter_rows(min_row=4, values_only=True) if r[0]) == expected
    )
    trends = await incidents.get(
        "/reports/trends",
        params={"division_code": division, "from_year": 2020, "to_year": 2023},
        headers={"Authorization": f"Bearer {STAFF}"},
    )
    assert 'id="three-goals"' in trends.text and 'id="occupational-disease"' in trends.text


async def _evaluation(client: httpx.AsyncClient, division: str) -> Any:
    answer = await client.get(
        "/v1/reports/evaluation",
        params={"division_code": division, "period": "midterm", "format": "xlsx"},
        headers=bearer(STAFF),
    )
    assert answer.status_code == 200, answer.text
    return load_workbook(io.BytesIO(answer.content))
