"""Prometheus metrics, one registry per app (several apps may share a test process)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.requests = Counter(
            "hub_http_requests",
            "HTTP requests handled",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "hub_outbox_pending", "outbox rows not yet published", registry=self.registry
        )
        self.events_published = Gauge(
            "hub_events_published", "events published by this process", registry=self.registry
        )
        self.events_applied = Gauge(
            "hub_events_applied",
            "events applied by this process's consumers",
            ["consumer"],
            registry=self.registry,
        )
        self.events_dead_lettered = Gauge(
            "hub_events_dead_lettered",
            "events sent to deadletter.v1",
            ["consumer"],
            registry=self.registry,
        )
        self.info = Gauge(
            "hub_service_info", "service identity", ["service"], registry=self.registry
        )
        self.info.labels(**labels).set(1)
        self.collectors: list[Callable[[], Awaitable[None]]] = []

    async def render(self) -> bytes:
        for collect in self.collectors:
            await collect()
        return generate_latest(self.registry)


def instrument(app: FastAPI, metrics: Metrics) -> None:
    """Count and time every request by its route template (never by raw path or query)."""

    @app.middleware("http")
    async def _measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.requests.labels(request.method, template, str(response.status_code)).inc()
        metrics.latency.labels(request.method, template).observe(time.perf_counter() - start)
        return response

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        return Response(await metrics.render(), media_type=CONTENT_TYPE_LATEST)
