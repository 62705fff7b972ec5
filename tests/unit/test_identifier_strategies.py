"""The test data generators make only identifiers that the hub's validators accept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from hub_shared.domain.divisions import normalize_division
from hub_shared.domain.identifiers import (
    validate_permit_no,
    validate_project_code,
    validate_resident_id,
    validate_uscc,
)
from hub_shared.domain.industries import normalize_industry_code
from tests.support.asgi import app_of
from tests.support.identifiers import FORMATS

# JSON Schema's and OpenAPI's own formats; any other the APIs name is an identifier's.
STANDARD = {"date", "date-time", "time", "duration", "uri", "email", "uuid", "binary", "password"}

VALIDATORS: dict[str, Callable[[str], str]] = {
    "uscc": validate_uscc,
    "resident-id": validate_resident_id,
    "permit-no": validate_permit_no,
    "project-code": validate_project_code,
    "division-code": normalize_division,
    "industry-code": normalize_industry_code,
}


@pytest.mark.parametrize("form", sorted(FORMATS))
def test_every_generated_identifier_is_valid(form: str) -> None:
    @settings(max_examples=200)
    @given(value=FORMATS[form])
    def check(value: str) -> None:
        assert VALIDATORS[form](value)

    check()


def _formats(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            yield node["format"]
        for value in node.values():
            yield from _formats(value)
    elif isinstance(node, list):
        for value in node:
            yield from _formats(value)


def test_every_identifier_format_the_apis_name_has_a_generator(tmp_path: Path) -> None:
    named = {
        form
        for service in ("permit-ingest", "enrollment", "incidents", "notifier")
        for form in _formats(app_of(service, tmp_path).openapi())  # type: ignore[arg-type]
    }
    assert named - STANDARD == set(FORMATS) == set(VALIDATORS)
