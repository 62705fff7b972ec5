"""The matcher keeps an enterprise's industry code as the registry does: the 2-digit
division. A raw "E47" from another system did not fit the column on PostgreSQL, so the
event was retried (once: dead-lettered) instead of applied."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from enrollment.matching.facts import Facts
from enrollment.matching.fold import fold, parse
from enrollment.matching.rules import Policy
from hub_shared.messaging.consumer import PermanentEventError
from hub_shared.messaging.envelope import Envelope

USCC = "91370812MA3L12T073"
NOW = datetime(2024, 3, 1, tzinfo=UTC)


def _registered(industry_code: str) -> Envelope:
    data = {"uscc": USCC, "name": "c", "division_code": "370811",
            "industry_code": industry_code, "employees": 10}  # fmt: skip
    return Envelope.new("enterprise.registered", source="/test", key=USCC, data=data)


def test_an_enterprise_event_with_a_section_letter_is_stored_as_its_division() -> None:
    facts = Facts()
    event = parse(_registered("E4711"))
    assert event is not None

    fold(facts, event, Policy(source="/test"), NOW)

    assert facts.enterprises[USCC].industry_code == "47"


def test_an_enterprise_event_with_an_unknown_industry_code_is_a_permanent_error() -> None:
    event = parse(_registered("Z99"))
    assert event is not None

    with pytest.raises(PermanentEventError):
        fold(Facts(), event, Policy(source="/test"), NOW)
