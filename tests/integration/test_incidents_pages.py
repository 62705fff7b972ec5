"""The trend report (JSON and HTML page) and the floating-rate advice, in-process against the
real broker and a real database: enterprises and enrollments arrive as events, accidents
over 2020-2022 through the REST API."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from hubtools.kafka import LocalKafka
from tests.support import incidents as support
from tests.support.hub import wait_for
from tests.support.incidents import (
    COUNTY,
    EMERGENCY,
    REPORTS,
    Service,
    accident,
    bearer,
    employer_events,
    new_uscc,
    projected_end_offsets,
    projection_caught_up,
    publish,
)

# 汶上县 and pharmaceutical manufacturing (C27): no other test module uses them, but the
# topics are shared by the session (this test runs once per database backend), so the
# expectations are what was projected before plus this test's additions.
DIVISION, INDUSTRY = "370830", "C27"


service = support.service


async def _link(service: Service, token: str = REPORTS) -> str:
    created = await service.client.post("/v1/reports/links", headers=bearer(token))
    assert created.status_code == 201, created.text
    link: str = created.json()["link"]
    return link


async def _trends(service: Service, division: str, token: str = REPORTS) -> httpx.Response:
    return await service.client.get(
        "/v1/reports/trends",
        params={"division_code": division, "from_year": 2020, "to_year": 2022},
        headers=bearer(token),
    )


def _pharma(report: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in report["industries"] if s["industry"] == "pharmaceutical")


async def test_trends_json_page_and_floating_rates(service: Service, kafka: LocalKafka) -> None:
    ends = await projected_end_offsets(kafka.bootstrap)
    await wait_for(lambda: projection_caught_up(service, ends), what="the projection to catch up")
    earlier = [
        p["insured_employees"] for p in _pharma((await _trends(service, DIVISION)).json())["years"]
    ]
    assert len(set(earlier)) == 1  # earlier runs enrolled from 2019 on, like this one
    insured = earlier[0] + 500
    rates = [round(n * 1000 / insured, 4) for n in (5, 4, 6)]
    targets = [round(rates[0] * f, 4) for f in (1, 0.96, 0.92)]

    risky, safe = new_uscc(DIVISION), new_uscc(DIVISION)
    # 500 more insured: 200 at the risky one, 300 at the safe one.
    risky_events = employer_events(risky, DIVISION, INDUSTRY, 400, 200)
    await publish(kafka, risky_events + employer_events(safe, DIVISION, INDUSTRY, 300, 300))
    for year, count in ((2020, 5), (2021, 4), (2022, 6)):
        for n in range(count):
            body = accident(risky, DIVISION, INDUSTRY, year, n)
            response = await service.post("/v1/accidents", body, EMERGENCY)
            assert response.status_code == 201, response.text

    async def projected() -> dict[str, Any] | None:
        report: dict[str, Any] = (await _trends(service, DIVISION)).json()
        years = _pharma(report)["years"]
        return report if all(p["insured_employees"] == insured for p in years) else None

    report = await wait_for(projected, what="the projection of the two enterprises")
    pharma = _pharma(report)
    assert pharma["baseline_per_1000"] == rates[0]
    assert [p["accidents"] for p in pharma["years"]] == [5, 4, 6]
    assert [p["accident_rate_per_1000"] for p in pharma["years"]] == rates
    assert [p["target_per_1000"] for p in pharma["years"]] == pytest.approx(targets, abs=1e-4)
    assert [p["on_track"] for p in pharma["years"]] == [True, True, False]
    assert report["total"]["years"][2]["accident_rate_per_1000"] == rates[2]
    assert [(c["division_code"], c["year"]) for c in report["counties"]] == [(DIVISION, 2022)]

    city = (await _trends(service, "370800")).json()
    counties = {c["division_code"]: c for c in city["counties"]}
    assert len(counties) == 11
    assert counties[DIVISION]["accident_rate_per_1000"] == rates[2]
    assert counties[DIVISION]["on_track"] is False

    # the page: a one-use link from the API, then the session cookie it starts
    page = await service.client.get(
        "/reports/trends",
        params={"division_code": DIVISION, "link": await _link(service), "to_year": 2022},
    )
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    for container in ('id="chart-total"', 'id="chart-counties"', "chart-industry-pharmaceutical"):
        assert container in html
    assert '<script src="/static/echarts.min.js"></script>' in html
    assert "汶上县" in html
    assert "hub_reports_session" in page.headers["set-cookie"]
    assert REPORTS not in page.headers["set-cookie"]
    again = await service.client.get(
        "/reports/trends", params={"division_code": DIVISION, "to_year": 2022}
    )
    assert again.status_code == 200

    script = await service.client.get("/static/echarts.min.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "echarts" in script.text[:5000]

    advice = await service.client.get(
        "/v1/reports/floating-rates",
        params={"division_code": DIVISION, "year": 2022},
        headers=bearer(REPORTS),
    )
    assert advice.status_code == 200
    rows = {row["uscc"]: row for row in advice.json()["employers"]}
    # industry average 6 accidents over all insured; the risky one 6 / 200 = 30‰ (at least
    # 2.5 × the average), the safe one 0‰
    assert rows[risky]["industry_average_per_1000"] == rates[2]
    assert (rows[risky]["risk_class"], rows[risky]["base_rate_percent"]) == (4, 0.9)
    assert (rows[risky]["injury_rate_per_1000"], rows[risky]["suggested_tier_percent"]) == (
        30.0,
        150,
    )
    assert rows[safe]["suggested_tier_percent"] == 80  # no fund data: one tier down at most
    assert rows[safe]["fund_usage_rate"] is None
    as_csv = await service.client.get(
        "/v1/reports/floating-rates",
        params={"division_code": DIVISION, "year": 2022, "format": "csv"},
        headers=bearer(REPORTS),
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = {line["uscc"]: line for line in csv.DictReader(io.StringIO(as_csv.text))}
    assert lines[risky]["suggested_tier_percent"] == "150"


async def test_trends_need_the_scope_and_a_covered_division(service: Service) -> None:
    assert (await service.client.get("/reports/trends?division_code=370811")).status_code == 401
    assert (await _trends(service, DIVISION, EMERGENCY)).status_code == 403
    assert (await _trends(service, DIVISION, COUNTY)).status_code == 403
    outside = await service.client.get(
        "/reports/trends", params={"division_code": DIVISION, "link": await _link(service, COUNTY)}
    )
    assert outside.status_code == 403
    own = await service.client.get(
        "/reports/trends", params={"division_code": "370811", "link": await _link(service, COUNTY)}
    )
    assert own.status_code == 200
    # a county's page embeds its own county only
    assert "任城区" in own.text and "汶上县" not in own.text and "370830" not in own.text
    county = (await _trends(service, "370811", COUNTY)).json()
    assert [c["division_code"] for c in county["counties"]] == ["370811"]
    bad = await service.client.get(
        "/v1/reports/trends",
        params={"division_code": "370811", "from_year": 2023, "to_year": 2021},
        headers=bearer(REPORTS),
    )
    assert bad.status_code == 422
    assert (await service.client.get("/static/..%2Fpages.py")).status_code == 404
    assert (await service.client.get("/static/README.md")).status_code == 404
