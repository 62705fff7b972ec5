"""Credentials are checked before a body is read, the 64 MiB limit is for the two bulk
routes only, and an NDJSON batch is capped by its line count too."""

from __future__ import annotations

from pathlib import Path

from tests.support.asgi import app_of, call
from tests.support.hub import AGENCY_TOKEN, SOURCE_ID, encode, permit, signed

PROBLEM = "application/problem+json"
TWO_MIB = str(2 * 1024 * 1024)


async def test_a_permit_from_an_unknown_source_is_refused_before_its_body_is_read(
    tmp_path: Path,
) -> None:
    body = encode(permit())
    headers = {**signed(body), "X-Hub-Source": "nobody"}
    answer = await call(
        app_of("permit-ingest", tmp_path), "POST", "/v1/permits", list(headers.items()), [body]
    )

    assert (answer.status, answer.headers["content-type"], answer.reads) == (401, PROBLEM, 0)


async def test_a_permit_without_its_webhook_headers_is_refused_before_its_body_is_read(
    tmp_path: Path,
) -> None:
    body = encode(permit())
    headers = [(k, v) for k, v in signed(body).items() if k != "webhook-signature"]
    answer = await call(app_of("permit-ingest", tmp_path), "POST", "/v1/permits", headers, [body])

    assert (answer.status, answer.reads) == (401, 0)
    assert "webhook-signature" in answer.json()["detail"]


async def test_a_stale_webhook_timestamp_is_refused_before_the_body_is_read(
    tmp_path: Path,
) -> None:
    body = encode(permit())
    headers = {**signed(body), "webhook-timestamp": "1000000000"}
    answer = await call(
        app_of("permit-ingest", tmp_path), "POST", "/v1/permits", list(headers.items()), [body]
    )

    assert (answer.status, answer.reads) == (401, 0)


async def test_a_rest_write_without_a_token_is_refused_before_its_body_is_parsed(
    tmp_path: Path,
) -> None:
    for service, path in (("enrollment", "/v1/enrollments"), ("incidents", "/v1/accidents")):
        headers = [("Content-Type", "application/json")]
        answer = await call(app_of(service, tmp_path), "POST", path, headers, [b"{not json"])

        assert (answer.status, answer.headers["content-type"]) == (401, PROBLEM), service
        assert answer.reads == 0, service


async def test_a_route_ending_in_batch_or_import_is_not_a_bulk_route(tmp_path: Path) -> None:
    app = app_of("enrollment", tmp_path)
    for method, path in (("POST", "/v1/findings:batch"), ("PUT", "/v1/enterprises:import")):
        headers = [("Content-Length", TWO_MIB), ("Authorization", f"Bearer {AGENCY_TOKEN}")]
        answer = await call(app, method, path, headers)

        assert (answer.status, answer.headers["content-type"]) == (413, PROBLEM), path
        assert answer.reads == 0


async def test_the_bulk_permit_route_still_takes_more_than_one_mib(tmp_path: Path) -> None:
    headers = [("Content-Length", TWO_MIB), ("X-Hub-Source", "nobody")]
    answer = await call(app_of("permit-ingest", tmp_path), "POST", "/v1/permits:batch", headers)

    assert answer.status == 401  # past the size check, refused for its credentials


async def test_an_ndjson_batch_over_the_line_limit_is_refused_with_413(tmp_path: Path) -> None:
    app = app_of("permit-ingest", tmp_path, "\n[ingest]\nbatch_max_lines = 3\n")
    body = b"".join(encode(permit(f"37081120210315{n:04d}")) + b"\n" for n in range(4))
    headers = signed(body, content_type="application/x-ndjson")
    answer = await call(app, "POST", "/v1/permits:batch", list(headers.items()), [body])

    assert (answer.status, answer.headers["content-type"]) == (413, PROBLEM)
    assert "3 lines" in answer.json()["detail"]
    assert SOURCE_ID not in answer.json()["detail"]
