"""Schemathesis against each service's own OpenAPI document, the four services running as
processes on a real broker: 100 examples per operation, each sent with valid credentials
and with none. No answer is a 5xx; every 4xx is problem+json; every answer's status,
content type and body are the documented ones. Identifiers are generated valid (their
OpenAPI `format`s, tests.support.identifiers), so writes get past validation and are
applied: each service that takes writes must have accepted some."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.core import NotSet
from schemathesis.generation.case import Case

from hubtools.kafka import LocalKafka
from tests.support.hub import (
    AGENCY_TOKEN,
    EMERGENCY_TOKEN,
    HEALTH_TOKEN,
    REPORTS_TOKEN,
    signed,
    write_config,
)
from tests.support.identifiers import FORMATS
from tests.support.processes import Services, hub_processes

pytestmark = pytest.mark.e2e
ADMIN_TOKEN = "fuzz-operator-token"
OPERATOR = f'\n[[clients]]\nid = "ops"\ntoken = "{ADMIN_TOKEN}"\nscopes = ["admin"]\n'
OPERATOR += 'divisions = ["370800"]\n'
SENT: Counter[str] = Counter()
ANSWERS: Counter[tuple[str, int]] = Counter()  # (service, status): for the report
APPLIED: Counter[str] = Counter()  # writes answered 2xx, by service
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
for _form, _strategy in FORMATS.items():
    schemathesis.openapi.format(_form, _strategy)


@schemathesis.serializer("application/x-ndjson", "text/csv")
def _as_bytes(_ctx: Any, value: Any) -> bytes:
    """A generated string or binary body, sent as it is (NDJSON batches, CSV imports)."""
    if isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


@pytest.fixture(scope="module")
def services(kafka: LocalKafka, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    data = tmp_path_factory.mktemp("fuzz")
    config = write_config(data / "hub.toml")
    config.write_text(config.read_text(encoding="utf-8") + OPERATOR, encoding="utf-8")
    with hub_processes(config, kafka.bootstrap, data) as running:
        asyncio.run(running.until_ready())
        yield running
    print(f"fuzzing requests per service: {dict(SENT)}")
    print(f"answers by status: {sorted(ANSWERS.items())}")
    print(f"writes applied (2xx): {dict(APPLIED)}")


def _schema(services: Services, service: str) -> Any:
    schema = schemathesis.openapi.from_url(f"{services.url(service)}/openapi.json")
    # The live stream never ends: it is proved by its own tests.
    return schema.exclude(path="/v1/alerts/stream")


def problem_json_errors(ctx: Any, response: Any, case: Case) -> bool | None:
    """Every 4xx is problem+json with its status."""
    if 400 <= response.status_code < 500:
        media = response.headers.get("content-type", [""])
        media = media[0] if isinstance(media, list) else media
        assert media.startswith("application/problem+json"), (response.status_code, media)
        assert json.loads(response.content)["status"] == response.status_code
    return None


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    problem_json_errors,
]
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


def _token(path: str) -> str:
    if "/admin/" in path or path == "/v1/audit":
        return ADMIN_TOKEN
    for prefix, token in (
        ("/v1/accidents", EMERGENCY_TOKEN),
        ("/v1/diseases", HEALTH_TOKEN),
        ("/v1/reports", REPORTS_TOKEN),
        ("/reports", REPORTS_TOKEN),
        ("/v1/alerts", "office-city"),
    ):
        if path.startswith(prefix):
            return token
    return AGENCY_TOKEN


def _count(case: Case, service: str, status: int) -> None:
    SENT[service] += 1
    ANSWERS[(service, status)] += 1
    if case.method.upper() in WRITES and 200 <= status < 300:
        APPLIED[service] += 1


def _both_ways(case: Case, service: str, credentials: dict[str, str]) -> None:
    for headers in (credentials, {}):
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        _count(case, service, response.status_code)


def _bearer(case: Case, service: str) -> None:
    _both_ways(case, service, {"Authorization": f"Bearer {_token(case.path)}"})


def _has_body(case: Case) -> bool:
    return case.body is not None and not isinstance(case.body, NotSet)


def _signed_or_bearer(case: Case) -> None:
    if not _has_body(case) or case.path in ("/healthz", "/readyz") or "/admin/" in case.path:
        _bearer(case, "permit-ingest")
        return
    raw = case.body if isinstance(case.body, bytes | str) else json.dumps(case.body)
    body = raw.encode() if isinstance(raw, str) else raw
    media = case.media_type or "application/json"
    for headers in (signed(body, content_type=media), {"Content-Type": media}):
        response = case.call(headers=headers, data=body)
        _count(case, "permit-ingest", response.status_code)
        case.validate_response(response, checks=CHECKS)


def _fuzz(services: Services, service: str, send: Callable[[Case], None]) -> list[str]:
    """Every operation of the service, 100 examples each; returns the operations."""
    done = []
    for result in _schema(services, service).get_all_operations():
        operation = result.ok()

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: Case) -> None:
            send(case)

        run()
        done.append(f"{operation.method.upper()} {operation.path}")
    return done


@pytest.mark.timeout(600)
@pytest.mark.parametrize("service", ["permit-ingest", "enrollment", "incidents", "notifier"])
def test_every_operation_answers_as_documented(services: Services, service: str) -> None:
    if service == "permit-ingest":
        operations = _fuzz(services, service, _signed_or_bearer)
    else:
        operations = _fuzz(services, service, lambda case: _bearer(case, service))

    assert len(operations) >= 5, operations
    assert SENT[service] >= 200 * len(operations) // 2
    if service != "notifier":  # its writes act on alerts, which no generated id names
        assert APPLIED[service] > 0, f"no generated write got past validation: {ANSWERS}"
