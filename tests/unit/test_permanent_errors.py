"""What a consumer dead-letters at once: malformed or invalid events, never a bare bug."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub_shared.domain.divisions import normalize_division
from hub_shared.domain.identifiers import validate_uscc
from hub_shared.messaging import consumer
from hub_shared.messaging.consumer import PermanentEventError
from hub_shared.messaging.envelope import Envelope


def _permanent(exc: Exception) -> bool:
    return isinstance(exc, consumer._PERMANENT)


def test_a_bare_value_error_or_key_error_is_not_permanent() -> None:
    assert not _permanent(ValueError("bug"))
    assert not _permanent(KeyError("bug"))


def test_permanent_event_error_and_invalid_codes_are_permanent() -> None:
    assert _permanent(PermanentEventError("no rule"))
    for bad in (lambda: validate_uscc("91370812MA3L12T07#"), lambda: normalize_division("999")):
        with pytest.raises(PermanentEventError) as caught:
            bad()
        assert _permanent(caught.value)


def test_the_matchers_parse_errors_are_permanent() -> None:
    from enrollment.matching.fold import parse

    unknown = Envelope.new("permit.revoked", source="/t", key="k", data={})
    invalid = Envelope.new("permit.issued", source="/t", key="k", data={"permit_no": 1})
    for envelope in (unknown, invalid):
        with pytest.raises((PermanentEventError, ValidationError)) as caught:
            parse(envelope)
        assert _permanent(caught.value)
