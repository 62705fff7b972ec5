"""The notifier: office inbox of alerts, signed webhook delivery, office REST, live
stream and the office dashboard."""

from __future__ import annotations

from fastapi import FastAPI

from hub_shared.config import ServiceSettings
from hub_shared.messaging.topics import ALERTS, PERMITS
from hub_shared.runtime import ServiceRuntime
from hub_shared.service_app import build_app
from hub_shared.web.web_sessions import expired_rule
from notifier.consumers import AlertsHandler
from notifier.delivery import regulators
from notifier.delivery.audit import AuditedDeliveryMetrics
from notifier.delivery.worker import DeliveryWorker
from notifier.inbox import api, dashboard
from notifier.inbox.stream import AlertFeed
from notifier.inbox.stream_limits import StreamSlots
from notifier.ops_metrics import NotifierOperatorMetrics
from notifier.tables import SCHEMA


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings, schema=SCHEMA)
    runtime.pruner.add(expired_rule())
    feed = AlertFeed()
    worker = DeliveryWorker(
        sessions=runtime.sessions,
        hub=settings.hub,
        metrics=AuditedDeliveryMetrics(runtime.metrics.registry, runtime.audit),
        on_alerts_changed=feed.changed,
    )
    # The handler takes any mix of alerts in one transaction (a poll of all six partitions
    # is one transaction and one offset commit, not six of each) and writes only the
    # notifier's own tables, so the outbox relay need not be woken after each commit.
    alerts = AlertsHandler(
        offices=settings.hub.offices, on_queued=worker.notify, on_changed=feed.changed
    )
    runtime.add_consumer(
        name="alerts",
        topics=[ALERTS.name],
        handler=alerts.handle,
        batched=True,
        stages_events=False,
        whole_poll=True,
        after_commit=alerts.after_commit,
    )
    if any(office.kind == "regulator" for office in settings.hub.offices):
        runtime.add_consumer(
            name="regulator-permits",
            topics=[PERMITS.name],
            handler=regulators.permits_handler(offices=settings.hub.offices),
            stages_events=False,
            after_commit=worker.notify,
        )
    runtime.add_worker("delivery", worker.run)
    watched = NotifierOperatorMetrics(
        runtime.metrics.registry, [o.id for o in settings.hub.offices if o.webhook_url]
    )
    runtime.metrics.collectors.append(watched.collector(runtime.sessions))
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
