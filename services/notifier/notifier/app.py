"""The notifier: office inbox of alerts, signed webhook delivery, office REST, live
stream and the office dashboard."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from hub_shared.config import ServiceSettings
from hub_shared.db import _make_sqlite_transactions_immediate, is_sqlite
from hub_shared.runtime import ServiceRuntime
from hub_shared.service_app import build_app
from hub_shared.topics import ALERTS
from notifier import api, dashboard
from notifier.consumers import alerts_handler
from notifier.delivery import DeliveryMetrics, DeliveryWorker
from notifier.models import TABLES
from notifier.stream import AlertFeed


def _one_sqlite_connection(runtime: ServiceRuntime) -> None:
    """On SQLite, give the whole process one connection. SQLite has one writer at a time,
    and the notifier's three writers (consumer, delivery worker, outbox relay) then queue
    in SQLAlchemy's pool, each woken the moment the connection is free, instead of in
    SQLite's busy handler, which sleeps up to 100 ms between tries: at 100 alerts/s that
    sleeping alone doubled the time from raised to delivered. PostgreSQL keeps its pool."""
    url = runtime.settings.database_url
    if not is_sqlite(url):
        return
    engine = create_async_engine(
        url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0, pool_timeout=60
    )
    _make_sqlite_transactions_immediate(engine)
    runtime.sessions.configure(bind=engine)
    runtime.engine = engine


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings, tables=TABLES)
    _one_sqlite_connection(runtime)
    feed = AlertFeed()
    worker = DeliveryWorker(
        sessions=runtime.sessions,
        hub=settings.hub,
        metrics=DeliveryMetrics(runtime.metrics.registry),
        on_alerts_changed=feed.changed,
    )
    runtime.add_consumer(
        name="alerts",
        topics=[ALERTS.name],
        handler=alerts_handler(
            offices=settings.hub.offices, on_queued=worker.notify, on_changed=feed.changed
        ),
    )
    runtime.add_worker("delivery", worker.run)
    runtime.add_worker("alert-feed", feed.run)
    app = build_app(
        title="Notifier",
        description="Alerts by division for social-security offices: signed webhooks "
        "with retries, the office REST API, a live stream and the office dashboard.",
        runtime=runtime,
        routers=[api.router, dashboard.router],
        state={"delivery_worker": worker, "alert_feed": feed},
    )
    dashboard.install(app)
    return app
