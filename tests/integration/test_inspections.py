"""Joint inspections in-process against the real broker and a real database: findings with
deadlines, one `rectification_overdue` alert per overdue finding through alerts.v1 to the
notifier, resolved by the rectification; the on-time/late/open report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub_shared import clock
from hubtools.kafka import LocalKafka
from incidents.app import create_app as incidents_app
from incidents.inspections.overdue import alert_id_of
from notifier.app import create_app as notifier_app
from tests.support.hub import bearer, payload, running, settings_for, topic_records, wait_for
from tests.support.hub import write_config as hub_config
from tests.support.incidents import new_id, new_uscc

HRSS, RENCHENG_HRSS, OFFICE = "hrss-token", "rencheng-hrss-token", "office-rencheng"
DIVISION = "370811"


def _config(path: Path) -> Path:
    hub_config(path)
    with path.open("a", encoding="utf-8") as out:
        out.write(
            f"""
[goals]
overdue_scan_interval_seconds = 0.2

[[clients]]
id = "hrss"
token = "{HRSS}"
scopes = ["inspections:write", "reports:read"]
divisions = ["370800"]

[[clients]]
id = "rencheng-hrss"
token = "{RENCHENG_HRSS}"
scopes = ["inspections:write", "reports:read"]
divisions = ["370811"]
"""
        )
    return path


@dataclass
class Hub:
    incidents: httpx.AsyncClient
    notifier: httpx.AsyncClient
    bootstrap: str


@pytest.fixture
async def hub(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    config = _config(tmp_path / "hub.toml")
    common: dict[str, Any] = {"config": config, "bootstrap": kafka.bootstrap, "data_dir": tmp_path}
    incidents = incidents_app(settings_for("incidents", database_url=database_url, **common))
    notifier_db = f"sqlite+aiosqlite:///{tmp_path / 'notifier.db'}"
    notifier = notifier_app(settings_for("notifier", database_url=notifier_db, **common))
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running(incidents))
        second = await stack.enter_async_context(running(notifier))
        yield Hub(first, second, kafka.bootstrap)


def _finding(kind: str, deadline: date, department: str = "emergency") -> dict[str, Any]:
    return {
        "finding_id": new_id("ZG"),
        "kind": kind,
        "description": f"{kind} 检查发现",
        "deadline": deadline.isoformat(),
        "responsible_department": department,
    }


def _inspection(uscc: str, inspected_on: date, findings: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "inspection_id": new_id("LJ"),
        "inspected_on": inspected_on.isoformat(),
        "departments": ["hrss", "emergency", "housing"],
        "enterprise": {"name": "任城建工", "uscc": uscc},
        "division_code": DIVISION,
        "industry_code": "E47",
        "findings": findings,
    }


async def _alert_events(hub: Hub, alert_id: str) -> list[str]:
    records = await topic_records(hub.bootstrap, "alerts.v1")
    return [
        dict(r.headers)["ce_type"].decode().rsplit(".", 1)[-1]
        for r in records
        if payload(r).get("alert_id") == alert_id
    ]


async def _office_alert(hub: Hub, alert_id: str) -> dict[str, Any] | None:
    answer = await hub.notifier.get(f"/v1/alerts/{alert_id}", headers=bearer(OFFICE))
    return answer.json() if answer.status_code == 200 else None


def _expected(
    findings: list[dict[str, Any]], rectified: dict[str, date], today: date
) -> dict[str, int]:
    """The report's counts, worked out from the seeded findings by hand."""
    counts = {
        "findings": len(findings),
        "rectified_on_time": 0,
        "rectified_late": 0,
        "open": 0,
        "overdue": 0,
    }
    for f in findings:
        deadline = date.fromisoformat(f["deadline"])
        done = rectified.get(f["finding_id"])
        if done is None:
            counts["open"] += 1
            counts["overdue"] += today > deadline
        else:
            counts["rectified_on_time" if done <= deadline else "rectified_late"] += 1
    return counts


async def test_an_overdue_finding_raises_one_alert_that_its_rectification_resolves(
    hub: Hub,
) -> None:
    today = clock.today()
    inspected = today - timedelta(days=60)
    overdue = _finding("safety_hazard", today - timedelta(days=10))
    late = _finding("project_uninsured", today - timedelta(days=5), department="housing")
    on_time = _finding("hazard_over_limit", today + timedelta(days=10), department="health")
    pending = _finding("accident_precursor", today + timedelta(days=30))
    left_overdue = _finding("safety_hazard", today - timedelta(days=1))
    findings = [overdue, late, on_time, pending, left_overdue]
    uscc = new_uscc(DIVISION)
    body = _inspection(uscc, inspected, findings)
    answer = await hub.incidents.post("/v1/inspections", json=body, headers=bearer(HRSS))
    assert answer.status_code == 201, answer.text
    again = await hub.incidents.post("/v1/inspections", json=body, headers=bearer(HRSS))
    assert again.status_code == 200

    overdue_alert, late_alert = alert_id_of(overdue["finding_id"]), alert_id_of(late["finding_id"])
    for alert_id in (overdue_alert, late_alert, alert_id_of(left_overdue["finding_id"])):
        opened = await wait_for(lambda a=alert_id: _office_alert(hub, a), what="the office's alert")
        assert opened["kind"] == "rectification_overdue" and opened["status"] == "open"
        assert opened["division_code"] == DIVISION
    assert await _office_alert(hub, alert_id_of(on_time["finding_id"])) is None

    rectified = {
        overdue["finding_id"]: today,
        late["finding_id"]: today,
        on_time["finding_id"]: today,
    }
    for finding_id, day in rectified.items():
        url = f"/v1/inspection-findings/{finding_id}/rectification"
        evidence = {"rectified_on": day.isoformat(), "evidence": "整改照片与验收记录"}
        done = await hub.incidents.post(url, json=evidence, headers=bearer(RENCHENG_HRSS))
        assert done.status_code == 200, done.text
        assert done.json()["status"].startswith("rectified")

    async def resolved(alert_id: str) -> bool:
        alert = await _office_alert(hub, alert_id)
        return alert is not None and alert["status"] == "resolved"

    for alert_id in (overdue_alert, late_alert):
        await wait_for(lambda a=alert_id: resolved(a), what="the alert to be resolved")
        assert await _alert_events(hub, alert_id) == ["raised", "resolved"]
    again_rectified = await hub.incidents.post(
        f"/v1/inspection-findings/{overdue['finding_id']}/rectification",
        json={"rectified_on": today.isoformat(), "evidence": "再次提交"},
        headers=bearer(HRSS),
    )
    assert again_rectified.status_code == 200
    assert await _alert_events(hub, overdue_alert) == ["raised", "resolved"]

    uninsured = [
        payload(r) for r in await topic_records(hub.bootstrap, "findings.v1")
        if payload(r).get("finding_id") == late["finding_id"]
    ]  # fmt: skip
    assert len(uninsured) == 1 and uninsured[0]["uscc"] == uscc

    report = await hub.incidents.get(
        "/v1/reports/inspections",
        params={"division_code": "370800", "year": inspected.year},
        headers=bearer(HRSS),
    )
    assert report.status_code == 200, report.text
    expected = _expected(findings, rectified, today)
    judged = expected["rectified_on_time"] + expected["rectified_late"] + expected["overdue"]
    expected_row = {
        "inspections": 1,
        **expected,
        "on_time_rate": round(expected["rectified_on_time"] / judged, 4),
    }
    data = report.json()
    for row in (data["total"], next(r for r in data["rows"] if r["industry"] == "construction"),
                next(c for c in data["counties"] if c["division_code"] == DIVISION)):  # fmt: skip
        assert {k: row[k] for k in expected_row} == expected_row
    assert next(r for r in data["rows"] if r["industry"] == "transport")["inspections"] == 0

    page = await hub.incidents.get(
        "/reports/inspections",
        params={"division_code": DIVISION, "year": inspected.year},
        headers={"Authorization": f"Bearer {RENCHENG_HRSS}"},
    )
    assert page.status_code == 200
    assert left_overdue["description"] in page.text and "逾期未整改" in page.text


async def test_a_bad_inspection_names_every_bad_field_and_stores_nothing(hub: Hub) -> None:
    today = clock.today()
    body = _inspection(new_uscc(DIVISION), today, [_finding("safety_hazard", today)])
    body["findings"][0] |= {"kind": "gossip", "responsible_department": "nobody"}
    body |= {"departments": [], "industry_code": "ZZ"}
    answer = await hub.incidents.post("/v1/inspections", json=body, headers=bearer(HRSS))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    named = {tuple(e["loc"]) for e in answer.json()["errors"]}
    assert {("body", "departments"), ("body", "industry_code"), ("body", "findings", "0", "kind"),
            ("body", "findings", "0", "responsible_department")} <= named  # fmt: skip

    early = _inspection(
        new_uscc(DIVISION), today, [_finding("safety_hazard", today - timedelta(days=1))]
    )
    answer = await hub.incidents.post("/v1/inspections", json=early, headers=bearer(HRSS))
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["errors"]] == [["body", "findings", "0", "deadline"]]
    for sent in (body, early):
        look = await hub.incidents.get(
            f"/v1/inspections/{sent['inspection_id']}", headers=bearer(HRSS)
        )
        assert look.status_code == 404
    other_county = _inspection(new_uscc("370830"), today, []) | {"division_code": "370830"}
    answer = await hub.incidents.post(
        "/v1/inspections", json=other_county, headers=bearer(RENCHENG_HRSS)
    )
    assert answer.status_code == 403
