"""The coverage registry's REST contract and the matcher's promise (docs/interfaces.md §5,
§7), against the real broker: a permit not enrolled when its grace period passes raises one
alert, an enrollment resolves it and a termination raises it again; bad input names every
field; a county client writes only its county; an enrollment id is idempotent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from enrollment.app import create_app as create_enrollment
from hubtools.kafka import LocalKafka
from permit_ingest.app import create_app as create_ingest
from tests.support.hub import (
    AGENCY_TOKEN,
    COUNTY_AGENCY_TOKEN,
    bearer,
    encode,
    new_permit_no,
    payload,
    permit,
    running,
    settings_for,
    signed,
    topic_records,
    wait_for,
    write_config,
)

GRACE = 1.0


@dataclass
class Hub:
    ingest: httpx.AsyncClient
    enrollment: httpx.AsyncClient
    kafka: LocalKafka


@pytest.fixture
async def hub(kafka: LocalKafka, database_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    config = write_config(tmp_path / "hub.toml", grace_seconds=GRACE)
    ingest_db = f"sqlite+aiosqlite:///{tmp_path / 'ingest.db'}"
    ingest = create_ingest(
        settings_for(
            "permit-ingest",
            config=config,
            bootstrap=kafka.bootstrap,
            database_url=ingest_db,
            data_dir=tmp_path,
        )
    )
    enrollment = create_enrollment(
        settings_for(
            "enrollment",
            config=config,
            bootstrap=kafka.bootstrap,
            database_url=database_url,
            data_dir=tmp_path,
        )
    )
    async with running(ingest) as i, running(enrollment) as e:
        yield Hub(i, e, kafka)


def enrollment_body(permit_no: str | None, **overrides: Any) -> dict[str, Any]:
    body = {
        "enrollment_id": f"SI-370811-2021-{permit_no or 'X'}",
        "kind": "project",
        "permit_no": permit_no,
        "project_code": None,
        "project_name": "任城区运河花园3#楼",
        "employer_uscc": "91370812MA3L12T073",
        "employer_name": "山东鲁班建设集团有限公司",
        "division_code": "370811",
        "insured_headcount": 0,
        "valid_from": "2021-03-10",
        "valid_to": None,
    }
    body.update(overrides)
    return body


async def alert_events(kafka: LocalKafka, permit_no: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for record in await topic_records(kafka.bootstrap, "alerts.v1"):
        data = payload(record)
        if data.get("subject", {}).get("permit_no") == permit_no:
            out.append((dict(record.headers)["ce_type"].decode().rsplit(".", 2)[-2:][1], data))
    return out


async def post_permit(hub: Hub, permit_no: str) -> None:
    body = encode(permit(permit_no))
    response = await hub.ingest.post("/v1/permits", content=body, headers=signed(body))
    assert response.status_code == 202, response.text


async def test_unenrolled_permit_raises_alert_after_grace_and_enrollment_resolves_it(
    hub: Hub,
) -> None:
    permit_no = new_permit_no()
    await post_permit(hub, permit_no)
    raised = await wait_for(lambda: alert_events(hub.kafka, permit_no), what="alert.raised")
    assert [kind for kind, _ in raised] == ["raised"]
    alert = raised[0][1]
    assert alert["kind"] == "project_not_enrolled" and alert["status"] == "open"
    assert alert["division_code"] == "370811"
    assert alert["subject"] == {
        "uscc": "91370812MA3L12T073",
        "name": "山东鲁班建设集团有限公司",
        "permit_no": permit_no,
        "project_name": "任城区运河花园3#楼",
    }
    assert alert["evidence"][0]["type"] == "permit.issued"

    response = await hub.enrollment.post(
        "/v1/enrollments", json=enrollment_body(permit_no), headers=bearer(AGENCY_TOKEN)
    )
    assert response.status_code == 201, response.text

    async def resolved() -> list[tuple[str, dict[str, Any]]]:
        events = await alert_events(hub.kafka, permit_no)
        return events if len(events) >= 2 else []

    events = await wait_for(resolved, what="alert.resolved")
    assert [kind for kind, _ in events] == ["raised", "resolved"]
    assert events[1][1]["alert_id"] == alert["alert_id"]
    assert events[1][1]["resolution"] == f"SI-370811-2021-{permit_no}"

    coverage = await hub.enrollment.get(
        f"/v1/coverage/permits/{permit_no}", headers=bearer(AGENCY_TOKEN)
    )
    assert coverage.json()["covered"] is True
    assert coverage.json()["by"] == [f"SI-370811-2021-{permit_no}"]


async def test_project_enrolled_first_raises_no_alert(hub: Hub) -> None:
    permit_no = new_permit_no()
    response = await hub.enrollment.post(
        "/v1/enrollments", json=enrollment_body(permit_no), headers=bearer(AGENCY_TOKEN)
    )
    assert response.status_code == 201
    # A control permit posted after it, unenrolled, proves the grace period has passed and
    # the matcher has judged permits received before it.
    control = new_permit_no()
    await post_permit(hub, permit_no)
    await post_permit(hub, control)
    await wait_for(lambda: alert_events(hub.kafka, control), what="the control permit's alert")
    assert await alert_events(hub.kafka, permit_no) == []


async def test_terminating_the_covering_enrollment_raises_the_alert_again(hub: Hub) -> None:
    permit_no = new_permit_no()
    body = enrollment_body(permit_no)
    await hub.enrollment.post("/v1/enrollments", json=body, headers=bearer(AGENCY_TOKEN))
    await post_permit(hub, permit_no)
    control = new_permit_no()
    await post_permit(hub, control)
    await wait_for(lambda: alert_events(hub.kafka, control), what="the control permit's alert")
    response = await hub.enrollment.post(
        f"/v1/enrollments/{body['enrollment_id']}/terminate",
        json={"terminated_on": "2021-06-30"},
        headers=bearer(AGENCY_TOKEN),
    )
    assert response.status_code == 200, response.text
    events = await wait_for(lambda: alert_events(hub.kafka, permit_no), what="a new alert")
    assert [kind for kind, _ in events] == ["raised"]


async def test_registry_rejects_bad_input_naming_every_field(hub: Hub) -> None:
    bad = enrollment_body(
        new_permit_no(),
        kind="employer",
        insured_headcount=0,
        employer_uscc="91370812MA3L12T07X",
        division_code="123456",
    )
    response = await hub.enrollment.post("/v1/enrollments", json=bad, headers=bearer(AGENCY_TOKEN))
    assert response.status_code == 422
    locs = {tuple(e["loc"]) for e in response.json()["errors"]}
    assert {("body", "employer_uscc"), ("body", "division_code")} <= locs
    unauthenticated = await hub.enrollment.post("/v1/enrollments", json=bad)
    assert unauthenticated.status_code == 401
    malformed = await hub.enrollment.post(
        "/v1/enrollments",
        content=b"{",
        headers={**bearer(AGENCY_TOKEN), "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    wrong_type = await hub.enrollment.post(
        "/v1/enrollments",
        content=b"a=b",
        headers={**bearer(AGENCY_TOKEN), "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415


async def test_county_client_cannot_write_another_county(hub: Hub) -> None:
    body = enrollment_body(new_permit_no("370883"), division_code="370883")
    response = await hub.enrollment.post(
        "/v1/enrollments", json=body, headers=bearer(COUNTY_AGENCY_TOKEN)
    )
    assert response.status_code == 403


async def test_same_enrollment_id_is_idempotent_and_conflicting_content_is_409(hub: Hub) -> None:
    body = enrollment_body(new_permit_no())
    first = await hub.enrollment.post("/v1/enrollments", json=body, headers=bearer(AGENCY_TOKEN))
    again = await hub.enrollment.post("/v1/enrollments", json=body, headers=bearer(AGENCY_TOKEN))
    changed = await hub.enrollment.post(
        "/v1/enrollments", json={**body, "project_name": "别的项目"}, headers=bearer(AGENCY_TOKEN)
    )
    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 409)


async def test_enterprise_put_and_coverage(hub: Hub) -> None:
    uscc = "91370883MA371HU01U"
    response = await hub.enrollment.put(
        f"/v1/enterprises/{uscc}",
        json={
            "name": "济宁正信工程监理有限公司",
            "division_code": "370883",
            "industry_code": "E4811",
            "employees": 120,
        },
        headers=bearer(AGENCY_TOKEN),
    )
    assert response.status_code in (200, 201), response.text
    assert response.json()["industry_code"] == "48"
    employer = enrollment_body(
        None,
        enrollment_id=f"SI-EMP-{uscc}",
        kind="employer",
        project_name=None,
        employer_uscc=uscc,
        employer_name="济宁正信工程监理有限公司",
        division_code="370883",
        insured_headcount=100,
    )
    assert (
        await hub.enrollment.post("/v1/enrollments", json=employer, headers=bearer(AGENCY_TOKEN))
    ).status_code in (200, 201)
    coverage = await hub.enrollment.get(
        f"/v1/coverage/enterprises/{uscc}", headers=bearer(AGENCY_TOKEN)
    )
    assert coverage.status_code == 200
    assert coverage.json()["covered"] is True and coverage.json()["by"] == [f"SI-EMP-{uscc}"]
