"""The circuit breaker of an office endpoint, and webhook signing during a secret
rotation: pure logic, a fake clock, an in-memory HTTP transport."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr, ValidationError
from standardwebhooks.webhooks import Webhook

from hub_shared.config import DeliveryConfig, OfficeConfig
from notifier.delivery.attempt import office_secrets, webhook_headers
from notifier.delivery.breaker import BreakerState, EndpointBreaker, endpoint_failed
from notifier.delivery.store import Claimed

CONFIG = DeliveryConfig(
    breaker_failure_threshold=3,
    breaker_open_seconds=10,
    breaker_max_open_seconds=25,
    drain_rate_per_second=5,
)
NEW = "whsec_" + base64.b64encode(b"rotation-new-secret-0123456789").decode()
OLD = "whsec_" + base64.b64encode(b"rotation-old-secret-0123456789").decode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("status", "failed"),
    [(None, True), (500, True), (503, True), (429, True), (408, True),
     (200, False), (204, False), (400, False), (404, False), (422, False)],
)  # fmt: skip
def test_only_unreachable_or_overloaded_endpoints_count_as_failing(
    status: int | None, failed: bool
) -> None:
    assert endpoint_failed(status) is failed


async def test_the_breaker_opens_probes_backs_off_and_drains_at_a_bounded_rate() -> None:
    clock = Clock()
    breaker = EndpointBreaker(CONFIG, clock)
    assert breaker.quota() is None
    for _ in range(2):
        breaker.record(failed=True, probe=False)
    breaker.record(failed=False, probe=False)  # a success breaks the run
    for _ in range(2):
        breaker.record(failed=True, probe=False)
    assert breaker.state is BreakerState.CLOSED
    breaker.record(failed=True, probe=False)
    assert breaker.state is BreakerState.OPEN
    assert breaker.quota() == 0
    assert breaker.wake_in() == 10

    clock.now += 10
    assert breaker.quota() == 1  # half-open: one probe
    assert await breaker.claimed(1, 1) is True
    assert breaker.quota() == 0  # and only one
    breaker.record(failed=True, probe=True)
    assert breaker.state is BreakerState.OPEN
    assert breaker.wake_in() == 10  # first reopening keeps the period...
    clock.now += 10
    assert await breaker.claimed(1, breaker.quota()) is True
    breaker.record(failed=True, probe=True)
    assert breaker.wake_in() == 20  # ...then it doubles
    clock.now += 20
    assert await breaker.claimed(1, breaker.quota()) is True
    breaker.record(failed=True, probe=True, retry_after=3600)
    assert breaker.wake_in() == 3600  # Retry-After asks for longer: honoured
    clock.now += 3600
    assert await breaker.claimed(1, breaker.quota()) is True
    breaker.record(failed=True, probe=True)
    assert breaker.wake_in() == 25  # capped

    clock.now += 25
    assert await breaker.claimed(1, breaker.quota()) is True
    breaker.record(failed=False, probe=True)
    assert breaker.state is BreakerState.DRAINING
    quota = breaker.quota()
    assert quota == 5  # the bucket's burst
    assert await breaker.claimed(5, quota) is False
    assert breaker.quota() == 0  # empty until it refills at 5/s
    assert breaker.wake_in() == pytest.approx(0.2)
    assert breaker.state is BreakerState.DRAINING
    await breaker.claimed(0, 0)
    assert breaker.state is BreakerState.DRAINING  # no room is not an empty backlog


async def test_draining_ends_when_the_backlog_is_empty_and_fails_back_open() -> None:
    breaker = EndpointBreaker(CONFIG, Clock())
    for _ in range(3):
        breaker.record(failed=True, probe=False)
    breaker.record(failed=False, probe=False)  # a late answer from before it opened
    assert breaker.state is BreakerState.DRAINING
    assert await breaker.claimed(2, 5) is False  # less backlog than allowed
    assert breaker.state is BreakerState.CLOSED
    assert breaker.quota() is None

    for _ in range(3):
        breaker.record(failed=True, probe=False)
    breaker.record(failed=False, probe=False)
    for _ in range(3):
        breaker.record(failed=True, probe=False)
    assert breaker.state is BreakerState.OPEN  # failures while draining open it again


def _office(previous: str | None) -> OfficeConfig:
    return OfficeConfig(
        id="yutai",
        divisions=("370827",),
        webhook_url="http://127.0.0.1:9/hook",
        webhook_secret=SecretStr(NEW),
        webhook_secret_previous=SecretStr(previous) if previous else None,
        token=SecretStr("t"),
    )


def test_during_a_rotation_webhooks_carry_both_signatures_the_new_first() -> None:
    claimed = Claimed(1, "4b3b7f0e-0000-4000-8000-000000000001", "yutai", "a-1", '{"x":1}', 0)
    body = claimed.body.encode()
    headers = webhook_headers(_office(OLD), claimed, body)
    assert headers["content-type"] == "application/cloudevents+json"
    assert headers["webhook-id"] == claimed.event_id
    for secret in (NEW, OLD):  # a receiver on either secret accepts it
        Webhook(secret).verify(body.decode(), headers)
    stamp = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    assert headers["webhook-signature"].split(" ") == [
        Webhook(NEW).sign(claimed.event_id, stamp, body.decode()),
        Webhook(OLD).sign(claimed.event_id, stamp, body.decode()),
    ]
    settled = webhook_headers(_office(None), claimed, body)
    assert len(settled["webhook-signature"].split(" ")) == 1
    assert office_secrets(_office(OLD)) == [NEW, OLD]


def test_a_previous_secret_needs_a_current_one() -> None:
    with pytest.raises(ValidationError, match="webhook_secret_previous needs webhook_secret"):
        OfficeConfig(
            id="x",
            divisions=("370827",),
            webhook_secret_previous=SecretStr(OLD),
            token=SecretStr("t"),
        )
