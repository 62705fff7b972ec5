"""NUL (U+0000), which PostgreSQL cannot store in text, is refused at the edge: in a JSON
body as a 422 naming the field (with every other bad field), in a URL as a 400, before
anything is written or published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub_shared.web.errors import Unprocessable
from permit_ingest.service import Delivery, validate_permit
from tests.support.asgi import app_of, call
from tests.support.hub import AGENCY_TOKEN, EMERGENCY_TOKEN, encode, permit, signed

ENROLLMENT = {
    "enrollment_id": "E-nul-1", "kind": "employer", "employer_uscc": "91370811MA3AY4C041",
    "employer_name": "济宁\u0000建工", "division_code": "370811", "insured_headcount": -1,
    "valid_from": "2025-01-01",
}  # fmt: skip


async def test_a_nul_in_a_json_body_is_a_422_naming_it_with_the_other_bad_fields(
    tmp_path: Path,
) -> None:
    app = app_of("enrollment", tmp_path)
    headers = [("Authorization", f"Bearer {AGENCY_TOKEN}"), ("Content-Type", "application/json")]
    answer = await call(app, "POST", "/v1/enrollments", headers, [json.dumps(ENROLLMENT).encode()])

    assert answer.status == 422
    places = {tuple(e["loc"]) for e in answer.json()["errors"]}
    assert places == {("body", "employer_name"), ("body", "insured_headcount")}


async def test_a_nul_in_a_url_is_a_400_before_any_route(tmp_path: Path) -> None:
    app = app_of("incidents", tmp_path)
    headers = [("Authorization", f"Bearer {EMERGENCY_TOKEN}")]
    in_path = await call(app, "GET", "/v1/accidents/YJ-1\u0000", headers)
    in_query = await call(app, "GET", "/v1/reports/key-industries?division_code=3708%00", headers)

    for answer in (in_path, in_query):
        assert (answer.status, answer.headers["content-type"]) == (400, "application/problem+json")
        assert "NUL" in answer.json()["detail"]


async def test_a_nul_in_a_signed_permit_is_a_422_naming_every_place(tmp_path: Path) -> None:
    app = app_of("permit-ingest", tmp_path)
    body = permit(address="运河路\u00001号", builder={"name": "鲁班\u0000建设", "uscc": "x"})
    raw = encode(body)
    answer = await call(app, "POST", "/v1/permits", list(signed(raw).items()), [raw])

    assert answer.status == 422
    places = {tuple(e["loc"]) for e in answer.json()["errors"]}
    assert places == {("body", "address"), ("body", "builder", "name"), ("body", "builder", "uscc")}


def test_a_nul_in_a_batch_line_rejects_that_line_naming_the_field() -> None:
    delivery = Delivery(source_id="s", webhook_id="w", event_source="/hub/permit-ingest")
    line = permit(project_name="运河花园\u00003#楼")
    with pytest.raises(Unprocessable) as refused:
        validate_permit(line, delivery, prefix=("line", "2"))
    assert [e["loc"] for e in refused.value.errors] == [["line", "2", "project_name"]]
