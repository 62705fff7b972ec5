"""A body sent chunked (no Content-Length) is refused with 413 problem+json once it passes
the limit, by every service, after the caller is authenticated."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub_shared.config import ServiceName
from tests.support.asgi import app_of, call
from tests.support.hub import AGENCY_TOKEN, EMERGENCY_TOKEN, encode, permit, signed

MiB = 1024 * 1024
CHUNKS = [b"x" * MiB, b"x" * MiB]  # 2 MiB in two chunks, no Content-Length
ADMIN = (
    '\n[[clients]]\nid = "ops"\ntoken = "ops-token"\nscopes = ["admin"]\ndivisions = ["370800"]\n'
)


def _bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")]


CASES: list[tuple[ServiceName, str, str, list[tuple[str, str]]]] = [
    ("permit-ingest", "POST", "/v1/permits", list(signed(encode(permit())).items())),
    ("enrollment", "POST", "/v1/enrollments", _bearer(AGENCY_TOKEN)),
    ("incidents", "POST", "/v1/accidents", _bearer(EMERGENCY_TOKEN)),
    ("notifier", "POST", "/v1/alerts/a1/dismiss", _bearer("office-rencheng")),
    ("notifier", "POST", "/v1/admin/offices/rencheng/redeliver", _bearer("ops-token")),
]


@pytest.mark.parametrize(("service", "method", "path", "headers"), CASES, ids=[c[2] for c in CASES])
async def test_a_chunked_body_over_the_limit_gets_413_problem_json(
    tmp_path: Path, service: ServiceName, method: str, path: str, headers: list[tuple[str, str]]
) -> None:
    app = app_of(service, tmp_path, ADMIN)
    answer = await call(app, method, path, [*headers, ("Transfer-Encoding", "chunked")], CHUNKS)

    assert (answer.status, answer.headers["content-type"]) == (413, "application/problem+json")
    assert answer.json()["status"] == 413


async def test_a_chunked_body_without_credentials_gets_401_unread(tmp_path: Path) -> None:
    app = app_of("enrollment", tmp_path)
    headers = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
    answer = await call(app, "POST", "/v1/findings", headers, CHUNKS)

    assert (answer.status, answer.reads) == (401, 0)
