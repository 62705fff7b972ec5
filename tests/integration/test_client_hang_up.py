"""A client that hangs up before its body is in (a dropped upload) is not an error of
ours: no service logs it at ERROR, and nothing is applied."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlmodel import func, select

from enrollment.tables import ImportJob
from hub_shared.config import ServiceName
from hubtools.kafka import LocalKafka
from tests.support.asgi import app_of, call
from tests.support.hub import AGENCY_TOKEN, EMERGENCY_TOKEN, encode, permit, running, signed

PART = [b"uscc,name,division_code,industry_code,employees\n" * 100]


def _bearer(token: str, media: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}"), ("Content-Type", media)]


CASES: list[tuple[ServiceName, str, list[tuple[str, str]]]] = [
    ("permit-ingest", "/v1/permits", list(signed(encode(permit())).items())),
    ("enrollment", "/v1/enterprises:import", _bearer(AGENCY_TOKEN, "text/csv")),
    ("incidents", "/v1/accidents", _bearer(EMERGENCY_TOKEN, "application/json")),
]


@pytest.mark.parametrize(("service", "path", "headers"), CASES, ids=[c[1] for c in CASES])
async def test_a_client_hanging_up_mid_body_is_logged_below_error(
    kafka: LocalKafka,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    service: ServiceName,
    path: str,
    headers: list[tuple[str, str]],
) -> None:
    app = app_of(service, tmp_path, bootstrap=kafka.bootstrap)
    async with running(app):  # migrated: an upload's route looks at its jobs first
        with caplog.at_level(logging.INFO):
            answer = await call(app, "POST", path, headers, PART, hang_up=True)
        if service == "enrollment":
            async with app.state.runtime.sessions() as session:
                jobs = await session.scalar(select(func.count()).select_from(ImportJob))
            assert jobs == 0  # the cut-off upload left no job behind

    assert answer.status == 400
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any("client went away" in r.getMessage() for r in caplog.records)
