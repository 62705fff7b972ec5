"""The operator's `admin` scope runs operations and nothing else: it cannot act as a
department (write accidents, read coverage, acknowledge alerts). Only a client configured
with the break-glass scope may, and each use is logged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hub_shared.config import ServiceName
from hub_shared.web.auth import BREAK_GLASS, Principal
from hub_shared.web.errors import Forbidden
from tests.support.asgi import app_of, call

ADMIN = (
    '\n[[clients]]\nid = "ops"\ntoken = "ops-token"\nscopes = ["admin"]\ndivisions = ["370800"]\n'
)
JSON = [("Authorization", "Bearer ops-token"), ("Content-Type", "application/json")]

DEPARTMENT_ROUTES: list[tuple[ServiceName, str, str]] = [
    ("incidents", "POST", "/v1/accidents"),
    ("incidents", "POST", "/v1/diseases"),
    ("incidents", "GET", "/v1/accidents/a1"),
    ("enrollment", "POST", "/v1/enrollments"),
    ("enrollment", "POST", "/v1/findings"),
    ("enrollment", "GET", "/v1/coverage/enterprises/91370800MA3C4YQX4H"),
    ("notifier", "GET", "/v1/alerts"),
    ("notifier", "POST", "/v1/alerts/a1/ack"),
]


IDS = [f"{method} {path}" for _, method, path in DEPARTMENT_ROUTES]


@pytest.mark.parametrize(("service", "method", "path"), DEPARTMENT_ROUTES, ids=IDS)
async def test_the_admin_token_cannot_act_as_a_department(
    tmp_path: Path, service: ServiceName, method: str, path: str
) -> None:
    app = app_of(service, tmp_path, ADMIN)
    answer = await call(app, method, path, JSON, [b"{}"] if method == "POST" else [])

    assert (answer.status, answer.headers["content-type"]) == (403, "application/problem+json")


def test_admin_holds_only_its_own_scope() -> None:
    admin = Principal("ops", "client", frozenset({"admin"}), ("370800",))

    assert admin.holds("admin")
    for scope in ("accidents:write", "diseases:write", "coverage:read", "alerts:ack"):
        assert not admin.holds(scope)
        with pytest.raises(Forbidden):
            admin.require(scope)


def test_a_configured_break_glass_scope_acts_as_any_department_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    glass = Principal("ops-emergency", "client", frozenset({BREAK_GLASS}), ("370800",))

    with caplog.at_level(logging.WARNING, logger="hub_shared.web.auth"):
        glass.require("accidents:write")

    assert [r.getMessage() for r in caplog.records] == [
        "break-glass: client ops-emergency acts with scope accidents:write"
    ]
