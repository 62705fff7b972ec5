"""The incidents service in-process against the real broker and a real database (SQLite and
PostgreSQL): docs/interfaces.md §3, §6 and §9."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date, datetime, timedelta
from typing import Any, Literal

import httpx
import pytest
from openpyxl import load_workbook

from hub_shared import clock
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.events import EnrollmentData, EnterpriseData
from hubtools.kafka import LocalKafka
from incidents.tables import IncidentsAccident, IncidentsDisease, IncidentsEnterprise
from tests.support import incidents as support
from tests.support.hub import topic_records, wait_for
from tests.support.incidents import (
    COUNTY,
    EMERGENCY,
    HEALTH,
    REPORTS,
    Service,
    bearer,
    new_id,
    new_uscc,
    projected_end_offsets,
    projection_caught_up,
    publish,
)

ID_NUMBER = "370811199001011236"


service = support.service


def accident(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "report_id": new_id("YJ"),
        "occurred_at": "2021-05-06T14:20:00+08:00",
        "division_code": "370811",
        "employer": {"name": "山东鲁班建设集团有限公司", "uscc": "91370812MA3L12T073"},
        "permit_no": "370811202103150101",
        "industry_code": "E4711",
        "grade": "general",
        "deaths": 1,
        "serious_injuries": 2,
        "minor_injuries": 0,
        "summary": "脚手架坍塌",
    }
    return body | overrides


def disease(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "diagnosis_id": new_id("ZYB"),
        "diagnosed_on": "2021-06-01",
        "patient_id_number": ID_NUMBER,
        "patient_name": "张伟",
        "category": 1,
        "disease": "矽肺",
        "employer": {"name": "济宁运河置业有限公司", "uscc": "91370811MA3AY4C041"},
        "division_code": "370811",
        "institution": "济宁市职业病防治院",
    }
    return body | overrides


async def _published(kafka: LocalKafka, topic: str, subject: str) -> list[Any]:
    records = await topic_records(kafka.bootstrap, topic)
    return [r for r in records if dict(r.headers).get("ce_subject") == subject.encode()]


async def _flushed(service: Service, kafka: LocalKafka) -> None:
    """Accept one more accident and wait until it is on the topic: the relay publishes in
    order, so whatever was staged before it has been published by then."""
    marker = accident()
    assert (await service.post("/v1/accidents", marker, EMERGENCY)).status_code == 201
    await wait_for(
        lambda: _published(kafka, "accidents.v1", marker["report_id"]), what="the marker accident"
    )


# --- accidents ---


async def test_accepted_accident_is_stored_and_published_as_a_cloudevent(
    service: Service, kafka: LocalKafka
) -> None:
    body = accident()
    response = await service.post("/v1/accidents", body, EMERGENCY)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["industry_code"] == "47"
    assert answer["industry_class"] == "4711"
    assert response.headers["location"] == f"/v1/accidents/{body['report_id']}"

    records = await wait_for(
        lambda: _published(kafka, "accidents.v1", body["report_id"]), what="accident.reported"
    )
    assert len(records) == 1
    record, headers = records[0], dict(records[0].headers)
    assert record.key == b"91370812MA3L12T073"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"cn.gov.jining.hub.accident.reported"
    assert headers["ce_source"] == b"/hub/incidents"
    assert headers["ce_id"] == answer["event_id"].encode()
    assert headers["ce_time"]
    assert headers["content-type"] == b"application/json"
    data = json.loads(record.value)
    assert data == {
        "report_id": body["report_id"],
        "occurred_at": "2021-05-06T14:20:00+08:00",
        "division_code": "370811",
        "employer": body["employer"],
        "permit_no": "370811202103150101",
        "industry_code": "47",
        "grade": "general",
        "deaths": 1,
        "serious_injuries": 2,
        "minor_injuries": 0,
        "summary": "脚手架坍塌",
    }
    fetched = await service.client.get(
        f"/v1/accidents/{body['report_id']}", headers=bearer(EMERGENCY)
    )
    assert fetched.status_code == 200
    assert fetched.json() == answer


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"employer": {"name": "x", "uscc": "91370812MA3L12T074"}}, ["body", "employer", "uscc"]),
        ({"division_code": "999999"}, ["body", "division_code"]),
        ({"occurred_at": "2099-01-01T00:00:00+08:00"}, ["body", "occurred_at"]),
        ({"deaths": 3, "grade": "general"}, ["body", "grade"]),
    ],
    ids=["bad-uscc", "unknown-division", "future-date", "grade-too-low"],
)
async def test_rejected_accident_stores_and_publishes_nothing(
    service: Service, kafka: LocalKafka, change: dict[str, Any], field: list[str]
) -> None:
    body = accident(**change)
    response = await service.post("/v1/accidents", body, EMERGENCY)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [error["loc"] for error in response.json()["errors"]] == [field]
    assert await service.stored(IncidentsAccident, body["report_id"]) is None
    assert await service.staged(body["report_id"]) == []
    await _flushed(service, kafka)
    assert await _published(kafka, "accidents.v1", body["report_id"]) == []


async def test_auth_media_type_and_division_faults_change_nothing(
    service: Service, kafka: LocalKafka
) -> None:
    body = accident(division_code="370812")
    no_token = await service.client.post("/v1/accidents", json=body)
    wrong_scope = await service.post("/v1/accidents", body, HEALTH)
    other_county = await service.post("/v1/accidents", body, COUNTY)
    text = await service.client.post(
        "/v1/accidents",
        content=json.dumps(body),
        headers=bearer(EMERGENCY) | {"Content-Type": "text/plain"},
    )
    malformed = await service.client.post(
        "/v1/accidents",
        content=b'{"report_id": ',
        headers=bearer(EMERGENCY) | {"Content-Type": "application/json"},
    )
    statuses = [r.status_code for r in (no_token, wrong_scope, other_county, text, malformed)]
    assert statuses == [401, 403, 403, 415, 400]
    for problem in (no_token, wrong_scope, other_county, text, malformed):
        assert problem.headers["content-type"].startswith("application/problem+json")
    assert await service.stored(IncidentsAccident, body["report_id"]) is None
    assert await service.staged(body["report_id"]) == []
    await _flushed(service, kafka)
    assert await _published(kafka, "accidents.v1", body["report_id"]) == []
    # A county client reads its own county only: 404, not the record.
    own = accident(division_code="370811")
    assert (await service.post("/v1/accidents", own, COUNTY)).status_code == 201
    elsewhere = accident(division_code="370883")
    assert (await service.post("/v1/accidents", elsewhere, EMERGENCY)).status_code == 201
    get = service.client.get
    assert (
        await get(f"/v1/accidents/{own['report_id']}", headers=bearer(COUNTY))
    ).status_code == 200
    hidden = await get(f"/v1/accidents/{elsewhere['report_id']}", headers=bearer(COUNTY))
    assert hidden.status_code == 404
    assert (await get("/v1/accidents/nope", headers=bearer(EMERGENCY))).status_code == 404


async def test_repeat_gives_the_first_answer_and_other_content_conflicts(
    service: Service, kafka: LocalKafka
) -> None:
    body = accident()
    first = await service.post("/v1/accidents", body, EMERGENCY)
    # The same content, written differently: lower-case USCC, no section letter, UTC.
    same = body | {
        "employer": {"name": body["employer"]["name"], "uscc": "91370812ma3l12t073"},
        "industry_code": "4711",
        "occurred_at": "2021-05-06T06:20:00Z",
    }
    again = await service.post("/v1/accidents", same, EMERGENCY)
    changed = await service.post("/v1/accidents", body | {"minor_injuries": 4}, EMERGENCY)
    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 409)
    assert again.json() == first.json()
    assert changed.json()["errors"][0]["loc"] == ["body", "report_id"]
    await _flushed(service, kafka)
    assert len(await _published(kafka, "accidents.v1", body["report_id"])) == 1


async def test_concurrent_repeats_store_and_publish_once(
    service: Service, kafka: LocalKafka
) -> None:
    body = accident()
    answers = await asyncio.gather(
        *(service.post("/v1/accidents", body, EMERGENCY) for _ in range(8))
    )
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["event_id"] for a in answers}) == 1
    await _flushed(service, kafka)
    assert len(await _published(kafka, "accidents.v1", body["report_id"])) == 1


# --- diseases ---


async def test_disease_is_stored_and_published_without_the_id_number(
    service: Service, kafka: LocalKafka
) -> None:
    first, second = disease(), disease(diagnosed_on="2022-03-01", category=5, disease="苯中毒")
    answers = [await service.post("/v1/diseases", d, HEALTH) for d in (first, second)]
    assert [a.status_code for a in answers] == [201, 201]
    answer = answers[0].json()
    assert answer["patient_id_masked"] == "370811********1236"
    assert answer["patient_name_masked"] == "张*"
    assert answers[1].json()["patient_digest"] == answer["patient_digest"]

    records = await wait_for(
        lambda: _published(kafka, "diseases.v1", first["diagnosis_id"]), what="disease.diagnosed"
    )
    record = records[0]
    assert dict(record.headers)["ce_type"] == b"cn.gov.jining.hub.disease.diagnosed"
    assert record.key == b"91370811MA3AY4C041"
    data = json.loads(record.value)
    assert data["patient_id_masked"] == "370811********1236"
    assert data["patient_digest"] == answer["patient_digest"]
    for secret in (ID_NUMBER, "张伟", ID_NUMBER[6:14]):
        assert secret.encode() not in record.value
        assert secret not in json.dumps(answer, ensure_ascii=False)
    for diagnosis in (first, second):
        row = await service.stored(IncidentsDisease, diagnosis["diagnosis_id"])
        stored = json.dumps(row.model_dump(mode="json"), ensure_ascii=False)
        staged = await service.staged(diagnosis["diagnosis_id"])
        assert len(staged) == 1
        for secret in (ID_NUMBER, "张伟"):
            assert secret not in stored
            assert secret not in staged[0].payload

    # The same person's later diagnosis names the earlier one.
    later = await service.client.get(
        f"/v1/diseases/{second['diagnosis_id']}", headers=bearer(HEALTH)
    )
    assert later.status_code == 200
    assert later.json()["repeat_of"] == [first["diagnosis_id"]]
    assert (await service.post("/v1/diseases", first, HEALTH)).status_code == 200
    assert (await service.post("/v1/diseases", first | {"category": 2}, HEALTH)).status_code == 409


async def test_bad_id_number_is_never_echoed(service: Service, kafka: LocalKafka) -> None:
    bad = "370811199001011237"
    body = disease(patient_id_number=bad, category=0)
    response = await service.post("/v1/diseases", body, HEALTH)
    assert response.status_code == 422
    assert bad not in response.text
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {
        ("body", "patient_id_number"),
        ("body", "category"),
    }
    assert await service.stored(IncidentsDisease, body["diagnosis_id"]) is None
    assert await service.staged(body["diagnosis_id"]) == []
    await _flushed(service, kafka)
    assert await _published(kafka, "diseases.v1", body["diagnosis_id"]) == []


# --- projection and the key-industry report ---


async def _report(service: Service, division: str, year: int, fmt: str = "json") -> httpx.Response:
    return await service.client.get(
        "/v1/reports/key-industries",
        params={"year": year, "division_code": division, "format": fmt},
        headers=bearer(REPORTS),
    )


COUNTED = (
    "enterprises",
    "insured_enterprises",
    "employees",
    "insured_employees",
    "accidents",
    "deaths",
)


def _counts(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    rows = {row["industry"]: row for row in report["rows"]} | {"total": report["total"]}
    return {key: {name: row[name] for name in COUNTED} for key, row in rows.items()}


def _plus(
    base: dict[str, dict[str, int]], delta: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    return {
        key: {name: value + delta.get(key, {}).get(name, 0) for name, value in row.items()}
        for key, row in base.items()
    }


def _enterprise(uscc: str, division: str, code: str, employees: int, at: datetime) -> Envelope:
    data = EnterpriseData(
        uscc=uscc,
        name=f"企业{uscc[-4:]}",
        division_code=division,
        industry_code=code,
        employees=employees,
    )
    return Envelope(
        type="cn.gov.jining.hub.enterprise.registered",
        source="/test",
        key=uscc,
        data=data.to_json(),
        time=at,
    )


def _enrollment(
    uscc: str,
    *,
    kind: Literal["project", "employer"] = "employer",
    headcount: int,
    start: date,
    at: datetime,
    terminated: date | None = None,
    enrollment_id: str | None = None,
) -> Envelope:
    data = EnrollmentData(
        enrollment_id=enrollment_id or new_id("SI"),
        kind=kind,
        employer_uscc=uscc,
        employer_name="x",
        division_code="370811",
        insured_headcount=headcount,
        valid_from=start,
        terminated_on=terminated,
    )
    name = "enrollment.terminated" if terminated else "enrollment.registered"
    return Envelope(
        type=f"cn.gov.jining.hub.{name}", source="/test", key=uscc, data=data.to_json(), time=at
    )


async def test_key_industry_report_reflects_projected_events_and_accidents(
    service: Service, kafka: LocalKafka
) -> None:
    year = clock.today().year
    now = clock.now()
    # Events other tests left on the shared topics are projected too: start from the table
    # once they are applied, and expect exactly this test's additions on top.
    ends = await projected_end_offsets(kafka.bootstrap)
    await wait_for(lambda: projection_caught_up(service, ends), what="the projection to catch up")
    before = {d: _counts((await _report(service, d, year)).json()) for d in ("370811", "370800")}

    building, mine, hazmat, site_only, software = (new_uscc("370811") for _ in range(5))
    long_ago, yesterday = date(year - 3, 1, 1), clock.today() - timedelta(days=1)
    terminated_id = new_id("SI")
    events = [
        _enterprise(building, "370811", "E47", 100, now - timedelta(minutes=5)),
        _enterprise(mine, "370811", "B06", 40, now - timedelta(minutes=5)),
        Envelope(  # a later update of the mine's headcount
            type="cn.gov.jining.hub.enterprise.updated",
            source="/test",
            key=mine,
            data=EnterpriseData(
                uscc=mine, name="煤矿", division_code="370811", industry_code="0610", employees=50
            ).to_json(),
            time=now - timedelta(minutes=1),
        ),
        _enterprise(hazmat, "370812", "G5942", 20, now - timedelta(minutes=5)),
        _enterprise(site_only, "370811", "E48", 60, now - timedelta(minutes=5)),
        _enterprise(software, "370811", "I65", 10, now - timedelta(minutes=5)),
        _enrollment(building, headcount=80, start=long_ago, at=now - timedelta(minutes=4)),
        # Terminated before it is registered: it must still end terminated.
        _enrollment(
            mine,
            headcount=30,
            start=long_ago,
            at=now - timedelta(minutes=2),
            terminated=yesterday,
            enrollment_id=terminated_id,
        ),
        _enrollment(
            mine,
            headcount=30,
            start=long_ago,
            at=now - timedelta(minutes=3),
            enrollment_id=terminated_id,
        ),
        _enrollment(hazmat, headcount=20, start=long_ago, at=now - timedelta(minutes=4)),
        _enrollment(site_only, kind="project", headcount=60, start=long_ago, at=now),
        _enrollment(software, headcount=10, start=long_ago, at=now - timedelta(minutes=4)),
        _enrollment(building, headcount=5, start=clock.today() + timedelta(days=1), at=now),
    ]
    await publish(kafka, [*events, events[0]])  # the first one delivered twice

    occurred = max(now - timedelta(minutes=10), datetime(year, 1, 1, 0, 0, 1, tzinfo=clock.BEIJING))
    for body in (
        accident(
            occurred_at=occurred.isoformat(), industry_code="E47", deaths=1, serious_injuries=0
        ),
        accident(
            occurred_at=occurred.isoformat(),
            industry_code="B06",
            deaths=3,
            grade="larger",
            serious_injuries=0,
            employer={"name": "煤矿", "uscc": mine},
        ),
        accident(
            occurred_at=occurred.isoformat(),
            industry_code="5942",
            division_code="370812",
            deaths=0,
            serious_injuries=1,
        ),
        accident(occurred_at=f"{year - 1}-06-01T08:00:00+08:00", industry_code="E47"),
    ):
        assert (await service.post("/v1/accidents", body, EMERGENCY)).status_code == 201

    county = {
        "construction": {
            "enterprises": 2,
            "insured_enterprises": 1,
            "employees": 160,
            "insured_employees": 80,
            "accidents": 1,
            "deaths": 1,
        },
        "coal_mining": {"enterprises": 1, "employees": 50, "accidents": 1, "deaths": 3},
        "mining": {"enterprises": 1, "employees": 50, "accidents": 1, "deaths": 3},
        "total": {
            "enterprises": 3,
            "insured_enterprises": 1,
            "employees": 210,
            "insured_employees": 80,
            "accidents": 2,
            "deaths": 4,
        },
    }
    hazmat_row = {
        "enterprises": 1,
        "insured_enterprises": 1,
        "employees": 20,
        "insured_employees": 20,
        "accidents": 1,
    }
    city = county | {
        "transport": hazmat_row,
        "hazardous_chemicals": hazmat_row,
        "total": {
            "enterprises": 4,
            "insured_enterprises": 2,
            "employees": 230,
            "insured_employees": 100,
            "accidents": 3,
            "deaths": 4,
        },
    }
    want = {"370811": _plus(before["370811"], county), "370800": _plus(before["370800"], city)}

    async def matches() -> bool:
        got = {d: _counts((await _report(service, d, year)).json()) for d in want}
        return got == want

    await wait_for(matches, what="the report to show the projected events")

    report = (await _report(service, "370800", year)).json()
    assert report["stock_date"] == clock.today().isoformat()
    for row in [*report["rows"], report["total"]]:
        insured, employees = row["insured_employees"], row["employees"]
        assert row["coverage_rate"] == (round(insured / employees, 4) if employees else None)
        assert row["accident_rate_per_1000"] == (
            round(row["accidents"] * 1000 / insured, 4) if insured else None
        )

    as_csv = await _report(service, "370800", year, "csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [line["industry"] for line in lines] == [r["industry"] for r in report["rows"]] + [
        "total"
    ]
    assert int(lines[-1]["enterprises"]) == report["total"]["enterprises"]

    as_xlsx = await _report(service, "370800", year, "xlsx")
    assert as_xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][0] == "重点行业企业基本情况表"
    header = values.index(next(v for v in values if v[0] == "重点行业名称"))
    assert values[header][1:8] == [
        "企业户数",
        "参保企业户数",
        "从业总人数",
        "参加工伤保险人数",
        "工伤保险参保率",
        "工伤事故数量",
        "工伤事故发生率",
    ]
    for offset, row in enumerate([*report["rows"], report["total"]], start=1):
        line = values[header + offset]
        assert line[0] == row["industry_zh"]
        assert line[1:8] == [
            row[k]
            for k in (
                "enterprises",
                "insured_enterprises",
                "employees",
                "insured_employees",
                "coverage_rate",
                "accidents",
                "accident_rate_per_1000",
            )
        ]


async def test_report_needs_the_scope_and_a_covered_division(service: Service) -> None:
    year = clock.today().year
    params: dict[str, str | int] = {"year": year, "division_code": "370800"}
    url = "/v1/reports/key-industries"
    assert (await service.client.get(url, params=params)).status_code == 401
    assert (
        await service.client.get(url, params=params, headers=bearer(EMERGENCY))
    ).status_code == 403
    assert (await service.client.get(url, params=params, headers=bearer(COUNTY))).status_code == 403
    county = await service.client.get(
        url, params=params | {"division_code": "370811"}, headers=bearer(COUNTY)
    )
    assert county.status_code == 200
    bad = await service.client.get(
        url,
        params={"year": year + 1, "division_code": "1", "format": "pdf"},
        headers=bearer(REPORTS),
    )
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {
        ("query", "year"),
        ("query", "division_code"),
        ("query", "format"),
    }


async def test_an_event_that_cannot_be_applied_is_dead_lettered_and_the_projection_moves_on(
    service: Service, kafka: LocalKafka
) -> None:
    bad, good = new_uscc("370811")[:-1] + "#", new_uscc("370811")
    now = clock.now()
    events = [
        _enterprise(bad, "370811", "E47", 10, now),
        _enterprise(good, "370811", "E47", 10, now),
    ]
    await publish(kafka, events)

    async def dead_lettered() -> list[Any]:
        return [
            r
            for r in await topic_records(kafka.bootstrap, "deadletter.v1")
            if r.key == bad.encode() and dict(r.headers).get("x-error-consumer") == b"projection"
        ]

    records = await wait_for(dead_lettered, what="the bad enterprise on deadletter.v1")
    assert dict(records[0].headers)["x-original-topic"] == b"enterprises.v1"
    assert await wait_for(
        lambda: service.stored(IncidentsEnterprise, good), what="the good enterprise applied"
    )
    assert await service.stored(IncidentsEnterprise, bad) is None
