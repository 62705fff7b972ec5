"""The notifier: office inbox of alerts, signed webhook delivery, office REST."""

from __future__ import annotations

from fastapi import FastAPI

from hub_shared.config import ServiceSettings
from hub_shared.runtime import ServiceRuntime
from hub_shared.service_app import build_app
from hub_shared.topics import ALERTS
from notifier import api
from notifier.consumers import alerts_handler
from notifier.delivery import DeliveryMetrics, DeliveryWorker
from notifier.models import TABLES


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings, tables=TABLES)
    worker = DeliveryWorker(
        sessions=runtime.sessions,
        hub=settings.hub,
        metrics=DeliveryMetrics(runtime.metrics.registry),
    )
    runtime.add_consumer(
        name="alerts",
        topics=[ALERTS.name],
        handler=alerts_handler(offices=settings.hub.offices, on_queued=worker.notify),
    )
    runtime.add_worker("delivery", worker.run)
    return build_app(
        title="Notifier",
        description="Alerts by division for social-security offices: signed webhooks "
        "with retries, and the office REST API.",
        runtime=runtime,
        routers=[api.router],
        state={"delivery_worker": worker},
    )
