"""Repeated deliveries that dodge the webhook-id deduplication are refused (docs/interfaces.md
§4): a repeated `webhook-*` header (the signature checked one id, deduplication read
another), and an amendment from a source other than the one that sent the permit first."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hubtools.kafka import LocalKafka
from permit_ingest.app import create_app
from tests.support.asgi import app_of, call
from tests.support.hub import (
    encode,
    new_permit_no,
    permit,
    running,
    settings_for,
    signed,
    write_config,
)

OTHER_SOURCE = "other-approval"
OTHER_SECRET = "whsec_" + base64.b64encode(b"other-source-secret-0123456789").decode()
PROBLEM = "application/problem+json"


async def test_a_repeated_webhook_id_header_is_refused_with_401(tmp_path: Path) -> None:
    body = encode(permit(new_permit_no()))
    headers = signed(body, webhook_id="msg_signed")
    # The signature covers the last webhook-id; a first one would have been deduplicated on.
    sent = [("webhook-id", "msg_already_seen"), *headers.items()]
    answer = await call(app_of("permit-ingest", tmp_path), "POST", "/v1/permits", sent, [body])

    assert (answer.status, answer.headers["content-type"]) == (401, PROBLEM)
    assert "webhook-id" in answer.json()["detail"]
    assert answer.reads == 0


async def test_a_repeated_signature_header_is_refused_with_401(tmp_path: Path) -> None:
    body = encode(permit(new_permit_no()))
    headers = signed(body)
    sent = [*headers.items(), ("webhook-signature", headers["webhook-signature"])]
    answer = await call(app_of("permit-ingest", tmp_path), "POST", "/v1/permits", sent, [body])

    assert answer.status == 401


@pytest.fixture
async def ingest(
    kafka: LocalKafka, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    config = write_config(tmp_path / "hub.toml")
    second = f'\n[[sources]]\nid = "{OTHER_SOURCE}"\nkind = "permits"\nsecret = "{OTHER_SECRET}"\n'
    config.write_text(config.read_text(encoding="utf-8") + second, encoding="utf-8")
    settings = settings_for(
        "permit-ingest",
        config=config,
        bootstrap=kafka.bootstrap,
        database_url=sqlite_url,
        data_dir=tmp_path,
    )
    async with running(create_app(settings)) as client:
        yield client


async def test_an_amendment_from_another_source_is_refused_with_403(
    ingest: httpx.AsyncClient,
) -> None:
    permit_no = new_permit_no()
    first = encode(permit(permit_no))
    assert (
        await ingest.post("/v1/permits", content=first, headers=signed(first))
    ).status_code == 202
    amended = encode(permit(permit_no, project_name="改名的项目"))
    other = {**signed(amended, secret=OTHER_SECRET), "X-Hub-Source": OTHER_SOURCE}

    refused = await ingest.put(f"/v1/permits/{permit_no}", content=amended, headers=other)
    accepted = await ingest.put(
        f"/v1/permits/{permit_no}", content=amended, headers=signed(amended)
    )

    assert (refused.status_code, refused.headers["content-type"]) == (403, PROBLEM)
    assert accepted.status_code == 202, accepted.text


async def test_a_known_webhook_id_with_another_body_is_409_naming_the_id(
    ingest: httpx.AsyncClient,
) -> None:
    first, second = encode(permit(new_permit_no())), encode(permit(new_permit_no()))
    webhook_id = f"msg_reused_{new_permit_no()}"
    accepted = await ingest.post(
        "/v1/permits", content=first, headers=signed(first, webhook_id=webhook_id)
    )
    repeated = await ingest.post(
        "/v1/permits", content=first, headers=signed(first, webhook_id=webhook_id)
    )
    reused = await ingest.post(
        "/v1/permits", content=second, headers=signed(second, webhook_id=webhook_id)
    )
    resent = await ingest.post("/v1/permits", content=second, headers=signed(second))

    assert accepted.status_code == 202 and repeated.json() == accepted.json()
    assert (reused.status_code, reused.headers["content-type"]) == (409, PROBLEM)
    assert webhook_id in reused.json()["detail"]
    assert resent.status_code == 202  # the second permit was not taken under the first id
