"""The notifier: office inbox of alerts, signed webhook delivery, office REST, live
stream and the office dashboard."""

from __future__ import annotations

from fastapi import FastAPI

from hub_shared.config import ServiceSettings
from hub_shared.runtime import ServiceRuntime
from hub_shared.service_app import build_app
from hub_shared.topics import ALERTS
from hub_shared.web_sessions import expired_rule
from notifier import api, dashboard
from notifier.consumers import alerts_handler, prepare_alerts
from notifier.delivery import DeliveryMetrics, DeliveryWorker
from notifier.schema import SCHEMA
from notifier.stream import AlertFeed
from notifier.stream_limits import StreamSlots


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings, schema=SCHEMA)
    runtime.pruner.add(expired_rule())
    feed = AlertFeed()
    worker = DeliveryWorker(
        sessions=runtime.sessions,
        hub=settings.hub,
        metrics=DeliveryMetrics(runtime.metrics.registry),
        on_alerts_changed=feed.changed,
    )
    # The handler takes any mix of alerts in one transaction (a poll of all six partitions
    # is one transaction and one offset commit, not six of each) and writes only the
    # notifier's own tables, so the outbox relay need not be woken after each commit.
    runtime.add_consumer(
        name="alerts",
        topics=[ALERTS.name],
        handler=alerts_handler(
            offices=settings.hub.offices, on_queued=worker.notify, on_changed=feed.changed
        ),
        stages_events=False,
        whole_poll=True,
        prepare_batch=prepare_alerts,
    )
    runtime.add_worker("delivery", worker.run)
    runtime.add_worker("alert-feed", feed.run)
    app = build_app(
        title="Notifier",
        description="Alerts by division for social-security offices: signed webhooks "
        "with retries, the office REST API, a live stream and the office dashboard.",
        runtime=runtime,
        routers=[api.router, dashboard.router],
        state={
            "delivery_worker": worker,
            "alert_feed": feed,
            "stream_slots": StreamSlots(settings.hub.streams),
        },
    )
    dashboard.install(app)
    return app
