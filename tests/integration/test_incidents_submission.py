"""The annual submission (XLSX and printable HTML), in-process against the real broker and a
real database: an enterprise and its enrollment arrive as events, accidents of 2020 and 2024
through the REST API."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from hub_shared import clock
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

# 泗水县 and pharmaceutical manufacturing (C27): no other test module uses this county, but
# the topics and the database are shared by the session, so the expectations are what the
# trend showed before plus this test's additions.
DIVISION, INDUSTRY = "370831", "C27"
YEAR = 2024


service = support.service


async def _link(service: Service, token: str) -> str:
    created = await service.client.post("/v1/reports/links", headers=bearer(token))
    assert created.status_code == 201, created.text
    link: str = created.json()["link"]
    return link


async def _trend_total(service: Service) -> dict[str, Any]:
    response = await service.client.get(
        "/v1/reports/trends",
        params={"division_code": DIVISION, "from_year": 2020, "to_year": YEAR},
        headers=bearer(REPORTS),
    )
    assert response.status_code == 200, response.text
    total: dict[str, Any] = response.json()["total"]
    return total


async def test_annual_submission_xlsx_and_page(service: Service, kafka: LocalKafka) -> None:
    ends = await projected_end_offsets(kafka.bootstrap)
    await wait_for(lambda: projection_caught_up(service, ends), what="the projection to catch up")
    before = {p["year"]: p for p in (await _trend_total(service))["years"]}
    insured = before[YEAR]["insured_employees"] + 250
    accidents = before[YEAR]["accidents"] + 3
    baseline_accidents = before[2020]["accidents"] + 2
    rate = round(accidents * 1000 / insured, 4)
    baseline = round(baseline_accidents * 1000 / insured, 4)

    uscc = new_uscc(DIVISION)
    await publish(kafka, employer_events(uscc, DIVISION, INDUSTRY, 300, 250))
    for year, count in ((2020, 2), (YEAR, 3)):
        for n in range(count):
            body = accident(uscc, DIVISION, INDUSTRY, year, n)
            response = await service.post("/v1/accidents", body, EMERGENCY)
            assert response.status_code == 201, response.text

    async def projected() -> bool:
        years = (await _trend_total(service))["years"]
        return all(p["insured_employees"] == insured for p in years)

    await wait_for(projected, what="the projection of the enterprise")

    params: dict[str, Any] = {"division_code": DIVISION, "year": YEAR, "format": "xlsx"}
    answer = await service.client.get(
        "/v1/reports/annual-submission", params=params, headers=bearer(REPORTS)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == [str(YEAR), "趋势", "要点", "职业病发生率", "三项目标", "检查整改"]
    table, trend, head = (book[name] for name in book.sheetnames[:3])
    assert table["A1"].value == "重点行业企业基本情况表"
    assert "泗水县" in str(table["A2"].value)
    total_row = next(r for r in table.iter_rows(values_only=True) if r[0] == "合计")
    assert total_row[6] == accidents and total_row[7] == rate
    assert head["A1"].value == "工伤预防年度报送材料"
    assert [head.cell(row=r, column=1).value for r in (3, 4, 5)] == [
        "填报单位(盖章):",
        "填报人:",
        "联系电话:",
    ]
    headline = {r[0]: r[1] for r in head.iter_rows(min_row=8, values_only=True) if r[0]}
    assert headline["工伤事故发生率"] == rate
    assert headline["参加工伤保险人数"] == insured
    assert headline["工伤事故数量"] == accidents
    assert headline["较 2020 年变化"] == pytest.approx(round(rate / baseline - 1, 4), abs=1e-4)
    assert headline["是否达标"] == ("是" if rate <= round(baseline * 0.84, 4) else "否")
    totals = [r for r in trend.iter_rows(min_row=5, values_only=True) if r[0] == "合计"]
    assert [r[1] for r in totals] == list(range(2020, YEAR + 1))
    assert totals[0][2] == baseline and totals[-1][2] == rate
    assert totals[-1][4] == pytest.approx(baseline * 0.84, abs=1e-4)

    page = await service.client.get(
        "/v1/reports/annual-submission",
        params={"division_code": DIVISION, "year": YEAR, "link": await _link(service, REPORTS)},
    )
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "泗水县" in html and f"{YEAR} 年" in html
    assert 'id="headline"' in html and "工伤事故发生率" in html
    assert f"{rate:.2f}‰" in html and "@page" in html and "<script" not in html


async def test_annual_submission_needs_the_scope_and_a_covered_division(service: Service) -> None:
    url = "/v1/reports/annual-submission"
    params: dict[str, Any] = {"division_code": DIVISION, "year": YEAR}
    assert (await service.client.get(url, params=params)).status_code == 401
    for token in (EMERGENCY, COUNTY):
        answer = await service.client.get(url, params=params, headers=bearer(token))
        assert answer.status_code == 403
    own = await service.client.get(
        url, params={"division_code": "370811", "year": YEAR, "link": await _link(service, COUNTY)}
    )
    assert own.status_code == 200 and "任城区" in own.text
    future = clock.today().year + 1
    bad = await service.client.get(
        url, params={"division_code": DIVISION, "year": future}, headers=bearer(REPORTS)
    )
    assert bad.status_code == 422
