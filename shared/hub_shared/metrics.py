"""Prometheus metrics, one registry per app (several apps may share a test process)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Receive, Scope, Send

from hub_shared.web.asgi import NotedStatus, route_template


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
        self.outbox_parked = Gauge(
            "hub_outbox_parked",
            "outbox rows parked because the broker refuses them for good",
            registry=self.registry,
        )
        self.rows_pruned = Gauge(
            "hub_retention_pruned",
            "rows this process deleted as past their retention",
            ["table"],
            registry=self.registry,
        )
        self.events_published = Gauge(
            "hub_events_published", "events published by this process", registry=self.registry
        )
        # One declaration a metric, alike in shape by nature: a name, its help, its labels.
        self.write_transactions = Gauge(
            "hub_write_transactions",
            "transactions the group commit committed (each holds one or more writes)",
            registry=self.registry,
        )
        self.writes_committed = Gauge(
            "hub_writes_committed", "REST and webhook writes committed", registry=self.registry
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
        self.consumer_stuck = Gauge(
            "hub_consumer_stuck",
            "1 while a consumer has retried the same record for too long, else 0",
            ["consumer"],
            registry=self.registry,
        )
        self.consumer_retry_seconds = Gauge(
            "hub_consumer_retry_seconds",
            "how long a consumer has been retrying its oldest failing record",
            ["consumer"],
            registry=self.registry,
        )
        self.consumer_retries = Gauge(
            "hub_consumer_retries",
            "records a consumer retried after a passing failure",
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


class _Measure:
    """Counts and times each request. A plain ASGI middleware: Starlette's BaseHTTPMiddleware
    (`@app.middleware("http")`) runs every request in a task group with memory streams,
    which cost permit intake about a tenth of its CPU."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        start, status = time.perf_counter(), NotedStatus(send)
        try:
            await self._app(scope, receive, status)
        finally:
            template = route_template(scope) or "unmatched"
            method = scope["method"]
            self._metrics.requests.labels(method, template, str(status.code)).inc()
            self._metrics.latency.labels(method, template).observe(time.perf_counter() - start)


def instrument(app: FastAPI, metrics: Metrics) -> None:
    """Count and time every request by its route template (never by raw path or query)."""
    app.add_middleware(_Measure, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        return Response(await metrics.render(), media_type=CONTENT_TYPE_LATEST)
