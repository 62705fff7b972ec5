"""Key-personnel training in-process against the real broker and a real database: the
register, completions by signed webhook and REST matched by the keyed digest in any order,
the coverage report (JSON, CSV, XLSX, page) and the `training_gap` alert to the notifier."""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from hub_shared import clock
from hub_shared.web import webhooks
from hubtools.kafka import LocalKafka
from incidents.app import create_app as incidents_app
from incidents.training.gaps import alert_id_of
from notifier.app import create_app as notifier_app
from tests.support.hub import bearer, payload, running, settings_for, topic_records, wait_for
from tests.support.hub import write_config as hub_config
from tests.support.incidents import new_id, new_uscc

TRAINER, REPORTS, OFFICE = "trainer-token", "training-reports-token", "office-rencheng"
PLATFORM = "safety-academy"
PLATFORM_SECRET = "whsec_" + base64.b64encode(b"training-platform-secret-0123").decode()
DIVISION = "370811"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _config(path: Path) -> Path:
    hub_config(path)
    with path.open("a", encoding="utf-8") as out:
        out.write(
            f"""
[goals]
training_gap_alert_on = "01-01"
training_scan_interval_seconds = 0.2

[[sources]]
id = "{PLATFORM}"
kind = "training"
secret = "{PLATFORM_SECRET}"

[[clients]]
id = "trainer"
token = "{TRAINER}"
scopes = ["training:write"]
divisions = ["370800"]

[[clients]]
id = "training-reports"
token = "{REPORTS}"
scopes = ["reports:read"]
divisions = ["370800"]
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


def _id_number(serial: int) -> str:
    body = f"3708111985{serial % 12 + 1:02d}1{serial % 10}{serial % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def _person(uscc: str, industry: str, role: str, id_number: str) -> dict[str, Any]:
    return {
        "enterprise": {"name": f"企业{uscc[-4:]}", "uscc": uscc},
        "division_code": DIVISION,
        "industry_code": industry,
        "role": role,
        "person_id_number": id_number,
        "person_name": "王建国",
        "listed_on": "2021-03-01",
    }


def _completion(id_number: str, day: date) -> dict[str, Any]:
    return {
        "completion_id": new_id("PX"),
        "person_id_number": id_number,
        "course": "工伤预防与安全生产",
        "hours": 8,
        "completed_on": day.isoformat(),
        "trainer": "济宁市技师学院",
    }


async def _webhook(hub: Hub, body: dict[str, Any], secret: str = PLATFORM_SECRET) -> httpx.Response:
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = webhooks.sign([secret], f"msg_{uuid.uuid4().hex}", raw)
    headers |= {"X-Hub-Source": PLATFORM, "Content-Type": "application/json"}
    return await hub.incidents.post(
        "/v1/webhooks/training-completions", content=raw, headers=headers
    )


async def _alert_events(hub: Hub, alert_id: str) -> list[str]:
    return [
        dict(r.headers)["ce_type"].decode().rsplit(".", 1)[-1]
        for r in await topic_records(hub.bootstrap, "alerts.v1")
        if payload(r).get("alert_id") == alert_id
    ]


async def _office_alert(hub: Hub, alert_id: str) -> dict[str, Any] | None:
    answer = await hub.notifier.get(f"/v1/alerts/{alert_id}", headers=bearer(OFFICE))
    return answer.json() if answer.status_code == 200 else None


def _expected(
    roster: list[dict[str, Any]], completions: list[dict[str, Any]], today: date
) -> dict[str, Any]:
    """Coverage worked out from the seeded rows by hand: a row is trained when a completion
    of the same ID number lies between 2021-01-01 and today."""
    done = {
        c["person_id_number"]
        for c in completions
        if date(2021, 1, 1) <= date.fromisoformat(c["completed_on"]) <= today
    }
    total = len(roster)
    trained = sum(p["person_id_number"] in done for p in roster)
    return {
        "key_personnel": total,
        "trained": trained,
        "coverage": round(trained / total, 4),
        "gap": total - trained,
    }


async def _coverage(hub: Hub, fmt: str = "json") -> httpx.Response:
    answer = await hub.incidents.get(
        "/v1/reports/training-coverage",
        params={"division_code": DIVISION, "year": clock.today().year, "format": fmt},
        headers=bearer(REPORTS),
    )
    assert answer.status_code == 200, answer.text
    return answer


async def test_coverage_counts_completions_in_any_order_and_the_gap_alert_resolves(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    today = clock.today()
    chemicals, builder = new_uscc(DIVISION), new_uscc(DIVISION)
    ids = [_id_number(n) for n in range(101, 107)]
    roster = [
        _person(chemicals, "C26", "leader_in_charge", ids[0]),
        _person(chemicals, "C26", "safety_head", ids[1]),
        _person(chemicals, "C26", "team_leader", ids[2]),
        _person(chemicals, "C26", "team_leader", ids[3]),
        _person(builder, "E47", "leader_in_charge", ids[4]),
        _person(builder, "E47", "team_leader", ids[5]),
    ]
    early = _completion(ids[2], date(2023, 5, 1))  # before its roster row arrives
    answer = await _webhook(hub, early)
    assert answer.status_code == 201, answer.text
    assert (await _webhook(hub, early)).status_code == 200
    completions = [
        early,
        _completion(ids[0], date(2022, 6, 1)),
        _completion(ids[1], date(2020, 9, 1)),  # before the plan: does not count
        _completion(ids[4], date(2024, 3, 1)),
        _completion(ids[5], date(2024, 4, 1)),
    ]
    for body in completions[1:]:
        answer = await hub.incidents.post(
            "/v1/training-completions", json=body, headers=bearer(TRAINER)
        )
        assert answer.status_code == 201, answer.text
    answers = []
    for person in roster:
        answer = await hub.incidents.post("/v1/key-personnel", json=person, headers=bearer(TRAINER))
        assert answer.status_code == 201, answer.text
        answers.append(answer)
    assert answers[2].json()["trained"] is True and answers[3].json()["trained"] is False
    assert answers[0].json()["person_id_masked"] == ids[0][:6] + "********" + ids[0][-4:]

    report = (await _coverage(hub)).json()
    assert {
        k: report["total"][k] for k in ("key_personnel", "trained", "coverage", "gap")
    } == _expected(roster, completions, today)
    rows = {row["industry"]: row for row in report["rows"]}
    for industry, uscc in (("hazardous_chemicals", chemicals), ("construction", builder)):
        own = [p for p in roster if p["enterprise"]["uscc"] == uscc]
        assert {
            k: rows[industry][k] for k in ("key_personnel", "trained", "coverage", "gap")
        } == _expected(own, completions, today)
    leaders = [p for p in roster if p["role"] == "team_leader"]
    team = next(r for r in report["total"]["roles"] if r["role"] == "team_leader")
    assert {k: team[k] for k in ("key_personnel", "trained", "coverage", "gap")} == _expected(
        leaders, completions, today
    )
    gaps = {g["uscc"]: g for g in report["enterprises_with_gaps"]}
    assert set(gaps) == {chemicals}

    as_csv = (await _coverage(hub, "csv")).text
    total_line = next(
        r
        for r in csv.DictReader(io.StringIO(as_csv))
        if r["industry"] == "total" and r["role"] == "all"
    )
    assert int(total_line["trained"]) == report["total"]["trained"]
    sheet = load_workbook(io.BytesIO((await _coverage(hub, "xlsx")).content)).active
    total_row = next(
        r for r in sheet.iter_rows(values_only=True) if r[0] == "合计" and r[1] == "合计"
    )
    assert total_row[2:6] == (
        report["total"]["key_personnel"],
        report["total"]["trained"],
        report["total"]["coverage"],
        report["total"]["gap"],
    )

    year = today.year
    chem_alert, builder_alert = alert_id_of(chemicals, year), alert_id_of(builder, year)
    opened = await wait_for(lambda: _office_alert(hub, chem_alert), what="the training_gap alert")
    assert opened["kind"] == "training_gap" and opened["status"] == "open"
    for body in (_completion(ids[3], date(2024, 6, 1)), _completion(ids[1], date(2024, 6, 2))):
        answer = await hub.incidents.post(
            "/v1/training-completions", json=body, headers=bearer(TRAINER)
        )
        assert answer.status_code == 201

    async def resolved() -> bool:
        alert = await _office_alert(hub, chem_alert)
        return alert is not None and alert["status"] == "resolved"

    await wait_for(resolved, what="the training_gap alert to resolve")
    assert await _alert_events(hub, chem_alert) == ["raised", "resolved"]
    assert await _alert_events(hub, builder_alert) == []

    page = await hub.incidents.get(
        "/reports/training",
        params={"division_code": DIVISION},
        headers={"Authorization": f"Bearer {REPORTS}"},
    )
    assert page.status_code == 200 and 'id="enterprise-gaps"' in page.text
    seen = [a.text for a in answers] + [as_csv, json.dumps(report, ensure_ascii=False), page.text]
    seen += [
        json.dumps(payload(r), ensure_ascii=False)
        for r in await topic_records(hub.bootstrap, "alerts.v1")
    ]
    seen += [record.getMessage() for record in caplog.records]
    assert not [number for number in ids for text in seen if number in text]


async def test_bad_completions_are_refused_and_change_nothing(hub: Hub) -> None:
    body = _completion(_id_number(201), date(2024, 1, 1))
    forged = await _webhook(
        hub, body, secret="whsec_" + base64.b64encode(b"not-the-secret-000000").decode()
    )
    assert forged.status_code == 401
    bad = body | {
        "person_id_number": "370811198501010000",
        "hours": -1,
        "completed_on": "2999-01-01",
    }
    answer = await _webhook(hub, bad)
    assert answer.status_code == 422
    named = {tuple(e["loc"]) for e in answer.json()["errors"]}
    assert named == {("body", "person_id_number"), ("body", "hours"), ("body", "completed_on")}
    assert "370811198501010000" not in answer.text
    person = _person(new_uscc(DIVISION), "C26", "chief", _id_number(202))
    refused = await hub.incidents.post("/v1/key-personnel", json=person, headers=bearer(TRAINER))
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["errors"]] == [["body", "role"]]
    report = (await _coverage(hub)).json()
    assert report["total"]["key_personnel"] == 0
    good = await hub.incidents.post("/v1/training-completions", json=body, headers=bearer(TRAINER))
    assert good.status_code == 201  # the refused webhook stored nothing under its id


def _roster_xlsx(rows: list[tuple[Any, ...]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(
        (
            "统一社会信用代码",
            "单位名称",
            "行政区划代码",
            "行业代码",
            "岗位",
            "身份证号",
            "姓名",
            "登记日期",
        )
    )
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_roster_file_imports_with_a_report_naming_bad_rows(hub: Hub) -> None:
    uscc = new_uscc(DIVISION)
    known = _person(uscc, "C26", "leader_in_charge", _id_number(301))
    answer = await hub.incidents.post("/v1/key-personnel", json=known, headers=bearer(TRAINER))
    assert answer.status_code == 201
    bad_id = "370811198501010000"
    content = _roster_xlsx(
        [
            (
                uscc,
                "化工企业",
                DIVISION,
                "C26",
                "分管负责人",
                _id_number(301),
                "王建国",
                "2021-03-01",
            ),
            (
                uscc,
                "化工企业",
                DIVISION,
                "C26",
                "一线班组长",
                _id_number(302),
                "李四",
                "2021-03-01",
            ),
            (
                uscc,
                "化工企业",
                DIVISION,
                "C26",
                "安全管理部门主要负责人",
                _id_number(303),
                "张三",
                None,
            ),
            (uscc, "化工企业", DIVISION, "C26", "门卫", bad_id, "赵六", "2021-03-01"),
        ]
    )
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    answer = await hub.incidents.post(
        "/v1/key-personnel:import",
        params={"wait": "true"},
        content=content,
        headers=bearer(TRAINER) | {"Content-Type": xlsx},
    )
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert job["status"] == "done"
    expected = {"rows_total": 4, "rows_done": 4, "created": 2, "unchanged": 1, "rows_failed": 1}
    assert {k: job[k] for k in expected} == expected
    assert {(e["row"], e["column"]) for e in job["errors"]} == {(5, "role"), (5, "id_number")}
    errors = await hub.incidents.get(job["errors_url"], headers=bearer(TRAINER))
    assert errors.status_code == 200 and "id_number" in errors.text
    assert bad_id not in answer.text + errors.text
    report = (await _coverage(hub)).json()
    assert report["total"]["key_personnel"] == 3

    missing = "统一社会信用代码,单位名称,岗位\r\n".encode("gb18030")
    refused = await hub.incidents.post(
        "/v1/key-personnel:import",
        content=missing,
        headers=bearer(TRAINER) | {"Content-Type": "text/csv"},
    )
    assert refused.status_code == 422
    named = {e["loc"][-1] for e in refused.json()["errors"]}
    assert named == {"division_code", "industry_code", "id_number", "person_name"}
