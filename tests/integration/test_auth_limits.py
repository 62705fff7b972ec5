"""Guessing tokens and sign-ins are limited per client address: past the limit an address
gets 429 problem+json with Retry-After, even with a good token; other addresses do not."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hub_shared.web.errors import RateLimited
from hub_shared.web.throttle import AttemptLimiter
from tests.support.asgi import app_of
from tests.support.dashboard import sign_in

LIMITS = "\n[limits]\nsign_ins_per_minute = 3\nfailed_auth_per_minute = 5\n"


def client(app: object, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


async def test_failed_bearer_authentication_is_limited_per_address(tmp_path: Path) -> None:
    app = app_of("incidents", tmp_path, LIMITS)
    wrong = {"Authorization": "Bearer not-a-token"}
    good = {"Authorization": "Bearer emergency-token"}
    async with client(app, "10.0.0.1") as guesser, client(app, "10.0.0.2") as other:
        answers = [(await guesser.get("/v1/accidents/a1", headers=wrong)) for _ in range(6)]
        blocked = await guesser.get("/v1/diseases/d1", headers=good)
        elsewhere = await other.get("/v1/accidents/a1", headers=wrong)

    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert answers[-1].headers["content-type"] == "application/problem+json"
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
    assert blocked.status_code == 429
    assert elsewhere.status_code == 401


async def test_dashboard_sign_in_attempts_are_limited_per_address(tmp_path: Path) -> None:
    app = app_of("notifier", tmp_path, LIMITS)
    async with client(app, "10.0.0.3") as browser, client(app, "10.0.0.4") as other:
        tries = [(await sign_in(browser, "guess")) for _ in range(4)]
        elsewhere = await sign_in(other, "guess")

    assert [t.status_code for t in tries] == [401, 401, 401, 429]
    assert "retry-after" in tries[-1].headers
    assert elsewhere.status_code == 401


def test_the_window_slides_and_forgotten_addresses_are_bounded() -> None:
    now = [1000.0]
    limiter = AttemptLimiter(limit=2, window_seconds=60, max_addresses=3, clock=lambda: now[0])
    limiter.record("a")
    limiter.record("a")
    with pytest.raises(RateLimited):
        limiter.check("a")
    now[0] += 60.5
    limiter.check("a")  # the minute has passed
    for address in ("b", "c", "d", "e"):
        limiter.record(address)
    assert len(limiter._seen) == 3
