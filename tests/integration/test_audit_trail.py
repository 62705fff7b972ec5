"""The exchange audit trail of a service in-process, against the real broker and both
database backends: what is recorded (and that no personal data is), the admin export with
filters, CSV and cursor paging, and a clean run verifying against its published heads.
Tampering and retention: test_audit_verify.py."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from hub_shared.config import EnvSettings, ServiceSettings
from hubtools.audit_cli import check
from hubtools.kafka import LocalKafka
from incidents.app import create_app
from tests.support.hub import running, wait_for

HEALTH, EMERGENCY, ADMIN = "audit-health", "audit-emergency", "audit-admin"
ID_NUMBER, PATIENT = "370811199001011236", "李秀英"


def _config(path: Path) -> Path:
    path.write_text(
        f"""
[audit]
flush_interval_seconds = 0.05
head_interval_seconds = 0.2
retention_days = 30

[[clients]]
id = "health"
token = "{HEALTH}"
scopes = ["diseases:write"]
divisions = ["370800"]

[[clients]]
id = "emergency"
token = "{EMERGENCY}"
scopes = ["accidents:write"]
divisions = ["370800"]

[[clients]]
id = "operator"
token = "{ADMIN}"
scopes = ["admin"]
divisions = ["370800"]
""",
        encoding="utf-8",
    )
    return path


def _env(kafka: LocalKafka, database_url: str, tmp_path: Path, prefix: str) -> dict[str, str]:
    return {
        "HUB_CONFIG": str(_config(tmp_path / "audit.toml")),
        "HUB_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "HUB_INCIDENTS_DATABASE_URL": database_url,
        "HUB_DATA_DIR": str(tmp_path),
        "HUB_CONSUMER_GROUP_PREFIX": prefix,
    }


@asynccontextmanager
async def incidents(env: dict[str, str]) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = ServiceSettings.load(
        "incidents",
        EnvSettings(
            config=Path(env["HUB_CONFIG"]),
            kafka_bootstrap=env["HUB_KAFKA_BOOTSTRAP"],
            incidents_database_url=env["HUB_INCIDENTS_DATABASE_URL"],
            data_dir=Path(env["HUB_DATA_DIR"]),
            consumer_group_prefix=env["HUB_CONSUMER_GROUP_PREFIX"],
        ),
    )
    app = create_app(settings)
    async with running(app) as client:
        yield client, app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def disease() -> dict[str, Any]:
    return {
        "diagnosis_id": f"ZYB-{uuid.uuid4().hex[:12]}",
        "diagnosed_on": "2021-06-01",
        "patient_id_number": ID_NUMBER,
        "patient_name": PATIENT,
        "category": 1,
        "disease": "矽肺",
        "employer": {"name": "济宁运河置业有限公司", "uscc": "91370811MA3AY4C041"},
        "division_code": "370811",
        "institution": "济宁市职业病防治院",
    }


def accident() -> dict[str, Any]:
    return {
        "report_id": f"YJ-{uuid.uuid4().hex[:12]}",
        "occurred_at": "2021-05-06T14:20:00+08:00",
        "division_code": "370811",
        "employer": {"name": "山东鲁班建设集团有限公司", "uscc": "91370812MA3L12T073"},
        "industry_code": "E4711",
        "grade": "general",
        "deaths": 0,
        "serious_injuries": 1,
        "minor_injuries": 0,
        "summary": "脚手架坍塌",
    }


async def _all_entries(http: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    answer = await http.get("/v1/audit", params=params, headers=bearer(ADMIN))
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def _exchange(client: httpx.AsyncClient) -> tuple[bytes, str]:
    """A disease, an accident, a read of it and a refused call; the disease's body and
    the accident's report id."""
    body = json.dumps(disease(), ensure_ascii=False).encode()
    headers = {**bearer(HEALTH), "Content-Type": "application/json"}
    assert (await client.post("/v1/diseases", content=body, headers=headers)).status_code == 201
    report = accident()
    answer = await client.post("/v1/accidents", json=report, headers=bearer(EMERGENCY))
    assert answer.status_code == 201, answer.text
    read = await client.get(f"/v1/accidents/{report['report_id']}", headers=bearer(EMERGENCY))
    assert read.status_code == 200
    assert (await client.post("/v1/diseases", json={}, headers=bearer("nope"))).status_code == 401
    return body, report["report_id"]


async def test_exchanges_are_recorded_without_personal_data_and_exported(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> None:
    env = _env(kafka, database_url, tmp_path, f"audit-{uuid.uuid4().hex[:8]}")
    async with incidents(env) as (client, app):
        body, report_id = await _exchange(client)

        async def recorded() -> list[dict[str, Any]]:
            entries = await _all_entries(client)
            published = [e for e in entries if e["operation"].startswith("publish ")]
            return entries if len(published) == 2 and len(entries) >= 6 else []

        entries = await wait_for(recorded, what="the exchanges in the audit trail")
        by_operation = {(e["actor"], e["operation"]): e for e in entries}
        posted = by_operation[("health", "POST /v1/diseases")]
        assert posted["outcome"] == "201"
        assert posted["content_hash"] == hashlib.sha256(body).hexdigest()
        assert by_operation[("emergency", "GET /v1/accidents/{report_id}")]["resource"] == (
            f"report_id={report_id}"
        )
        assert by_operation[("emergency", "GET /v1/accidents/{report_id}")]["outcome"] == "200"
        assert by_operation[("unauthenticated", "POST /v1/diseases")]["outcome"] == "401"
        assert ("incidents", "publish disease.diagnosed") in by_operation
        assert ("incidents", "publish accident.reported") in by_operation
        # No personal data: neither the patient's ID number nor the name, in any field.
        dumped = json.dumps(entries, ensure_ascii=False)
        for personal in (ID_NUMBER, PATIENT, "patient"):
            assert personal not in dumped

        # Filters: client, operation, period.
        only_health = await _all_entries(client, client="health")
        assert {e["actor"] for e in only_health} == {"health"}
        posts = await _all_entries(client, operation="POST /v1/accidents")
        assert [e["actor"] for e in posts] == ["emergency"]
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert await _all_entries(client, since=future) == []
        since, until = entries[2]["at"], entries[4]["at"]
        period = await _all_entries(client, since=since, until=until)
        assert [e["seq"] for e in period] == [e["seq"] for e in entries if since <= e["at"] < until]
        assert period and entries[4]["seq"] not in {e["seq"] for e in period}

        # Cursor paging: one entry a page walks the same entries as one page. Reading the
        # trail is itself recorded, so the walk stops at a moment taken before it.
        snapshot = datetime.now(UTC).isoformat()
        await app.state.runtime.audit.flush()  # what was recorded before it is stored
        everything = await _all_entries(client, until=snapshot)
        walked, cursor = [], None
        while True:
            params = {"limit": "1", "until": snapshot, **({"cursor": cursor} if cursor else {})}
            answer = await client.get("/v1/audit", params=params, headers=bearer(ADMIN))
            walked += answer.json()["items"]
            cursor = answer.json()["next_cursor"]
            if cursor is None:
                break
        assert [e["seq"] for e in walked] == [e["seq"] for e in everything]
        assert ("operator", "GET /v1/audit") in {
            (e["actor"], e["operation"]) for e in await _all_entries(client)
        }

        # CSV, and the admin scope.
        answer = await client.get(
            "/v1/audit", params={"format": "csv", "until": snapshot}, headers=bearer(ADMIN)
        )
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert [r["entry_hash"] for r in rows] == [e["entry_hash"] for e in everything]
        refused = await client.get("/v1/audit", headers=bearer(HEALTH))
        assert refused.status_code == 403
        # A digit that int() refuses ("³".isdigit() is true) is a bad cursor, not a 500.
        odd = await client.get("/v1/audit", params={"cursor": "³"}, headers=bearer(ADMIN))
        assert odd.status_code == 400

    chain = f"{env['HUB_CONSUMER_GROUP_PREFIX']}-incidents"
    finding, walked_count, heads = await check(
        chain, database_url=database_url, bootstrap=kafka.bootstrap, options={}
    )
    assert finding is None
    assert walked_count >= len(everything) and heads >= 1
