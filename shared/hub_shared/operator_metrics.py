"""What an operator watches in every service, computed when Prometheus scrapes: consumer
lag per group and partition, and the age of the oldest outbox row not yet published.
(Dead letters and stuck consumers are counted in hub_shared.metrics.)"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func
from sqlmodel import col, select

from hub_shared import clock
from hub_shared.messaging.consumer import EventConsumer
from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.storage.db import SessionFactory

log = logging.getLogger(__name__)


def age_seconds(since: datetime | None, now: datetime) -> float:
    """Seconds from `since` (naive means UTC, as SQLite gives it back) to `now`; 0 for None."""
    if since is None:
        return 0.0
    return max(0.0, (now - since.replace(tzinfo=since.tzinfo or UTC)).total_seconds())


class OperatorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumer_lag = Gauge(
            "hub_consumer_lag",
            "records not yet read by a consumer group, per partition this replica holds",
            ["consumer", "group", "topic", "partition"],
            registry=registry,
        )
        self.outbox_oldest_unsent = Gauge(
            "hub_outbox_oldest_unsent_seconds",
            "age of the oldest outbox row not yet published (0 when none waits)",
            registry=registry,
        )

    def collector(
        self, sessions: SessionFactory, consumers: Sequence[EventConsumer]
    ) -> Callable[[], Awaitable[None]]:
        async def collect() -> None:
            self.consumer_lag.clear()  # partitions move between replicas
            for consumer in consumers:
                for tp, lag in (await consumer.lag()).items():
                    labels = (consumer.name, consumer.group_id, tp.topic, str(tp.partition))
                    self.consumer_lag.labels(*labels).set(lag)
            try:
                self.outbox_oldest_unsent.set(await oldest_unsent_age(sessions))
            except Exception as exc:
                log.debug("metrics: oldest outbox row failed: %s", exc)

        return collect


async def oldest_unsent_age(sessions: SessionFactory) -> float:
    async with sessions() as session:
        query = select(func.min(OutboxMessage.created_at)).where(
            col(OutboxMessage.sent_at).is_(None)
        )
        oldest = (await session.exec(query)).one()
    return age_seconds(oldest, clock.now())
