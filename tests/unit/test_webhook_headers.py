"""The Standard Webhooks headers are checked before a body is read: each refusal is a 401,
never an error of ours."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from hub_shared import clock
from hub_shared.web.errors import Unauthorized
from hub_shared.web.webhooks import check_headers


def _headers(timestamp: str) -> Headers:
    return Headers(
        raw=[
            (b"webhook-id", b"msg_1"),
            (b"webhook-timestamp", timestamp.encode("latin-1")),
            (b"webhook-signature", b"v1,c2lnbmF0dXJl"),
        ]
    )


def test_a_timestamp_within_five_minutes_passes() -> None:
    now = str(int(clock.now().timestamp()))
    assert check_headers(_headers(now))["webhook-timestamp"] == now


@pytest.mark.parametrize("stamp", ["soon", "-5", "1.5", "\u00b3", "\u00b9\u00b2"])
def test_a_timestamp_that_is_not_whole_seconds_is_401(stamp: str) -> None:
    with pytest.raises(Unauthorized, match="whole seconds"):
        check_headers(_headers(stamp))
