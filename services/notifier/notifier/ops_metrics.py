"""What an operator watches in the notifier, computed when Prometheus scrapes: each
office's delivery backlog and its oldest pending delivery, and the open alerts per kind
and county."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func
from sqlmodel import col, select

from hub_shared import clock
from hub_shared.operator_metrics import age_seconds
from hub_shared.storage.db import SessionFactory
from notifier.tables import Delivery, DeliveryStatus, NotifierAlert

log = logging.getLogger(__name__)


class NotifierOperatorMetrics:
    def __init__(self, registry: CollectorRegistry, office_ids: list[str]) -> None:
        self._offices = office_ids
        # Declarations alike in shape to delivery/attempt.py's: one a metric, nothing shared.
        self.backlog = Gauge(
            "hub_notifier_delivery_backlog",
            "webhook deliveries not yet delivered (pending), per office",
            ["office"],
            registry=registry,
        )
        self.oldest_pending = Gauge(
            "hub_notifier_delivery_oldest_pending_seconds",
            "age of an office's oldest pending delivery (0 when none waits)",
            ["office"],
            registry=registry,
        )
        self.open_alerts = Gauge(
            "hub_notifier_open_alerts",
            "open alerts, per kind and county (division code)",
            ["kind", "county"],
            registry=registry,
        )

    def collector(self, sessions: SessionFactory) -> Callable[[], Awaitable[None]]:
        async def collect() -> None:
            try:
                await self._collect(sessions)
            except Exception as exc:
                log.debug("metrics: notifier backlog query failed: %s", exc)

        return collect

    async def _collect(self, sessions: SessionFactory) -> None:
        now = clock.now()
        async with sessions() as session:
            pending = (
                await session.exec(
                    select(
                        col(Delivery.office_id), func.count(), func.min(col(Delivery.created_at))
                    )
                    .where(col(Delivery.status) == DeliveryStatus.PENDING.value)
                    .group_by(col(Delivery.office_id))
                )
            ).all()
            open_alerts = (
                await session.exec(
                    select(col(NotifierAlert.kind), col(NotifierAlert.division_code), func.count())
                    .where(col(NotifierAlert.status) == "open")
                    .group_by(col(NotifierAlert.kind), col(NotifierAlert.division_code))
                )
            ).all()
        waiting = {office: (count, oldest) for office, count, oldest in pending}
        for office in sorted({*self._offices, *waiting}):
            count, oldest = waiting.get(office, (0, None))
            self.backlog.labels(office).set(count)
            self.oldest_pending.labels(office).set(age_seconds(oldest, now))
        self.open_alerts.clear()  # a kind and county with none left disappears
        for kind, county, count in open_alerts:
            self.open_alerts.labels(kind, county).set(count)
