"""The permit webhook's contract (docs/interfaces.md §4) against the real broker: a signed
permit is answered 202 and published once as a CloudEvent; a repeated webhook-id gets the
first answer and publishes nothing; bad signatures, JSON and fields are refused and store
nothing; an NDJSON batch is answered line by line."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hubtools.kafka import LocalKafka
from permit_ingest.app import create_app
from tests.support.hub import (
    encode,
    new_permit_no,
    permit,
    running,
    settings_for,
    signed,
    topic_records,
    wait_for,
    write_config,
)


@pytest.fixture
async def ingest(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    config = write_config(tmp_path / "hub.toml")
    settings = settings_for(
        "permit-ingest",
        config=config,
        bootstrap=kafka.bootstrap,
        database_url=database_url,
        data_dir=tmp_path,
    )
    async with running(create_app(settings)) as client:
        yield client


async def _events_for(kafka: LocalKafka, permit_no: str) -> list[dict[str, object]]:
    out = []
    for record in await topic_records(kafka.bootstrap, "permits.v1"):
        if record.key == permit_no.encode():
            out.append({"headers": dict(record.headers), "data": json.loads(record.value)})
    return out


async def test_signed_permit_is_accepted_and_published_as_cloudevent(
    ingest: httpx.AsyncClient, kafka: LocalKafka
) -> None:
    permit_no = new_permit_no()
    body = encode(permit(permit_no))
    response = await ingest.post("/v1/permits", content=body, headers=signed(body))
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["status"] == "accepted" and answer["permit_no"] == permit_no

    events = await wait_for(
        lambda: _events_for(kafka, permit_no), what="permit.issued on permits.v1"
    )
    assert len(events) == 1
    headers, data = events[0]["headers"], events[0]["data"]
    assert headers["ce_type"] == b"cn.gov.jining.hub.permit.issued"  # type: ignore[index]
    assert headers["ce_id"] == answer["event_id"].encode()  # type: ignore[index]
    assert headers["ce_specversion"] == b"1.0"  # type: ignore[index]
    assert headers["content-type"] == b"application/json"  # type: ignore[index]
    assert data["contractor"]["uscc"] == "91370812MA3L12T073"  # type: ignore[index]
    assert data["received_at"]  # type: ignore[index]


async def test_same_webhook_id_gets_the_first_answer_and_publishes_nothing_new(
    ingest: httpx.AsyncClient, kafka: LocalKafka
) -> None:
    permit_no = new_permit_no()
    body = encode(permit(permit_no))
    headers = signed(body, webhook_id="msg_replay_" + permit_no)
    first = await ingest.post("/v1/permits", content=body, headers=headers)
    again = await ingest.post("/v1/permits", content=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    # Same content under a new webhook-id: 200 with the first event id.
    third = await ingest.post("/v1/permits", content=body, headers=signed(body))
    assert third.status_code == 200
    assert third.json()["event_id"] == first.json()["event_id"]
    await wait_for(lambda: _events_for(kafka, permit_no), what="the event")
    assert len(await _events_for(kafka, permit_no)) == 1


async def test_different_content_for_same_permit_is_409_and_amendment_publishes(
    ingest: httpx.AsyncClient, kafka: LocalKafka
) -> None:
    permit_no = new_permit_no()
    body = encode(permit(permit_no))
    assert (await ingest.post("/v1/permits", content=body, headers=signed(body))).status_code == 202
    changed = encode(permit(permit_no, contract_price_wan=99.0))
    conflict = await ingest.post("/v1/permits", content=changed, headers=signed(changed))
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("application/problem+json")
    amended = await ingest.put(f"/v1/permits/{permit_no}", content=changed, headers=signed(changed))
    assert amended.status_code == 202 and amended.json()["revision"] == 2
    events = await wait_for(
        lambda: _atleast(_events_for(kafka, permit_no), 2), what="issued and amended"
    )
    assert [e["headers"]["ce_type"] for e in events] == [  # type: ignore[index]
        b"cn.gov.jining.hub.permit.issued",
        b"cn.gov.jining.hub.permit.amended",
    ]


async def _atleast(coro: object, n: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = await coro  # type: ignore[misc]
    return items if len(items) >= n else []


@pytest.mark.parametrize(
    ("change", "status", "bad_locs"),
    [
        (
            {"contractor": {"name": "x", "uscc": "91370812MA3L12T074"}},
            422,
            [["body", "contractor", "uscc"]],
        ),
        ({"division_code": "999999"}, 422, [["body", "division_code"]]),
        ({"planned_end": "2021-01-01"}, 422, [["body", "planned_end"]]),
        (
            {
                "division_code": "110000",
                "contract_price_wan": 0,
                "issued_at": "2021-03-15T09:30:00",
            },
            422,
            [["body", "division_code"], ["body", "contract_price_wan"], ["body", "issued_at"]],
        ),
    ],
    ids=["bad-uscc-check-char", "unknown-division", "end-before-start", "every-bad-field-listed"],
)
async def test_invalid_permit_is_422_naming_every_bad_field_and_nothing_is_stored(
    ingest: httpx.AsyncClient,
    kafka: LocalKafka,
    change: dict[str, object],
    status: int,
    bad_locs: list[list[str]],
) -> None:
    permit_no = new_permit_no()
    body = encode(permit(permit_no, **change))
    response = await ingest.post("/v1/permits", content=body, headers=signed(body))
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {tuple(e["loc"]) for e in problem["errors"]} >= {tuple(loc) for loc in bad_locs}
    # Nothing stored: the valid permit under the same number is then accepted as new.
    good = encode(permit(permit_no))
    assert (await ingest.post("/v1/permits", content=good, headers=signed(good))).status_code == 202


async def test_signature_faults_are_401_and_publish_nothing(
    ingest: httpx.AsyncClient, kafka: LocalKafka
) -> None:
    permit_no = new_permit_no()
    body = encode(permit(permit_no))
    forged = signed(body, secret="whsec_" + "Zm9yZ2VkLXNlY3JldC0wMTIzNDU2Nzg5")
    stale = signed(body)
    stale["webhook-timestamp"] = str(int(stale["webhook-timestamp"]) - 600)
    missing = {"Content-Type": "application/json", "X-Hub-Source": "test-approval"}
    unknown_source = {**signed(body), "X-Hub-Source": "nobody"}
    for headers in (forged, stale, missing, unknown_source):
        response = await ingest.post("/v1/permits", content=body, headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["status"] == 401
    assert await _events_for(kafka, permit_no) == []


async def test_malformed_json_wrong_type_and_oversized_body(ingest: httpx.AsyncClient) -> None:
    bad = b'{"permit_no": '
    assert (await ingest.post("/v1/permits", content=bad, headers=signed(bad))).status_code == 400
    text = encode(permit(new_permit_no()))
    wrong = await ingest.post(
        "/v1/permits", content=text, headers=signed(text, content_type="text/plain")
    )
    assert wrong.status_code == 415
    huge = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    too_large = await ingest.post("/v1/permits", content=huge, headers=signed(huge))
    assert too_large.status_code == 413
    assert too_large.json()["status"] == 413


async def test_ndjson_batch_answers_per_line(ingest: httpx.AsyncClient, kafka: LocalKafka) -> None:
    a, b = new_permit_no(), new_permit_no()
    lines = [
        permit(a),
        permit(b, division_code="000000"),
        permit(a),
        "not json",
    ]
    body = b"\n".join(encode(x) if isinstance(x, dict) else x.encode() for x in lines)
    response = await ingest.post(
        "/v1/permits:batch", content=body, headers=signed(body, content_type="application/x-ndjson")
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert [r["http_status"] for r in result["results"]] == [202, 422, 200, 400]
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (1, 1, 2)
    assert result["results"][1]["errors"][0]["loc"] == ["line", "2", "division_code"]
    await wait_for(lambda: _events_for(kafka, a), what="batch event")
    assert await _events_for(kafka, b) == []
