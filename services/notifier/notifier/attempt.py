"""One webhook POST (CONTRACTS.md §8): signed with the office's secret (and, during a
rotation, its previous one), timed, and turned into an Outcome."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import httpx
from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client import Counter as PromCounter

from hub_shared.config import OfficeConfig
from hub_shared.webhooks import sign
from notifier.delivery_store import Claimed, Outcome
from notifier.schedule import parse_retry_after

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/cloudevents+json"


def office_secrets(office: OfficeConfig) -> list[str]:
    """The secrets to sign with, the current one first."""
    secrets = [office.webhook_secret, office.webhook_secret_previous]
    return [s.get_secret_value() for s in secrets if s is not None]


async def post_delivery(
    client: httpx.AsyncClient,
    office: OfficeConfig,
    claimed: Claimed,
    *,
    timeout: float,
    probe: bool = False,
) -> Outcome:
    url = office.webhook_url or ""
    body = claimed.body.encode()
    headers = {"content-type": CONTENT_TYPE, **sign(office_secrets(office), claimed.event_id, body)}
    attempted_at = datetime.now(UTC)
    started = time.perf_counter()

    def done(
        status_code: int | None = None, error: str | None = None, retry_after: float | None = None
    ) -> Outcome:
        latency = (time.perf_counter() - started) * 1000
        return Outcome(claimed, attempted_at, latency, status_code, error, retry_after, probe)

    try:
        async with asyncio.timeout(timeout):
            response = await client.post(url, content=body, headers=headers)
    except (TimeoutError, httpx.TimeoutException):
        return done(error=f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        # The URL may carry credentials in its query: keep it out of the log.
        return done(error=f"{type(exc).__name__}: {str(exc).replace(url, '<url>')}"[:500])
    except Exception as exc:
        log.exception("office %s: delivery %s failed unexpectedly", office.id, claimed.id)
        return done(error=f"{type(exc).__name__}"[:500])
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return done(status_code=response.status_code, retry_after=retry_after)


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = PromCounter(
            "hub_notifier_delivery_attempts",
            "webhook delivery attempts by outcome",
            ["outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "hub_notifier_delivery_seconds", "webhook delivery latency", registry=registry
        )
        self.breaker = Gauge(
            "hub_notifier_breaker_open",
            "1 while an office endpoint's circuit breaker holds deliveries back",
            ["office"],
            registry=registry,
        )

    def observe(self, o: Outcome) -> None:
        outcome = "ok" if o.ok else "gone" if o.gone else "error" if o.error else "failed"
        self.attempts.labels(outcome).inc()
        self.latency.observe(o.latency_ms / 1000)
