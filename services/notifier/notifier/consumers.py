"""The alerts.v1 handler: keep each alert's latest state and queue its office webhooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.config import OfficeConfig
from hub_shared.domain.divisions import normalize_division
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.events import AlertData
from notifier.inbox.alert_state import (
    ALERT_EVENTS,
    AlertBatch,
    apply_alert_event,
    insert_deliveries,
    load_alerts,
)

log = logging.getLogger(__name__)


class AlertsHandler:
    """Applies a consumer batch of alerts.v1 events in the consumer's transaction
    (`handle`), and after its commit wakes who waits for new deliveries and changes
    (`after_commit`). The consumer applies one batch at a time, so what the last batch
    did is all `after_commit` needs to know."""

    def __init__(
        self,
        *,
        offices: Sequence[OfficeConfig],
        on_queued: Callable[[], None],
        on_changed: Callable[[], None] | None = None,
    ) -> None:
        """`on_queued` runs after a commit that queued deliveries, so the worker sends them
        at once instead of at its next poll, and `on_changed` after every commit that
        applied an alert event (live streams)."""
        self._offices = offices
        self._on_queued = on_queued
        self._on_changed = on_changed
        self._last = AlertBatch()

    async def handle(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        # Flushing after each event (autoflush on the next query) cost three round trips
        # per event; the rows go to the database in one flush at commit instead, and
        # apply_alert_event finds alerts added earlier in the batch in `batch.alerts`.
        session.sync_session.autoflush = False
        self._last = batch = AlertBatch()
        ids = [e.data.get("alert_id") for e in envelopes if e.name in ALERT_EVENTS]
        await load_alerts(session, batch, [i for i in ids if isinstance(i, str)])
        for envelope in envelopes:
            await self._apply(session, batch, envelope)
        await insert_deliveries(session, batch)

    async def _apply(self, session: AsyncSession, batch: AlertBatch, envelope: Envelope) -> None:
        if envelope.name not in ALERT_EVENTS:
            # Additive evolution: a newer event on this topic is not ours to fail on.
            log.info("alerts: ignoring event type %s (%s)", envelope.type, envelope.id)
            return
        alert = AlertData.model_validate(envelope.data)  # invalid -> dead-lettered
        # An unknown division could not be routed to anyone: dead-letter it (ValueError).
        division = normalize_division(alert.division_code)
        if division != alert.division_code:
            alert = alert.model_copy(update={"division_code": division})
        await apply_alert_event(
            session,
            batch,
            name=envelope.name,
            alert=alert,
            event_time=envelope.time,
            offices=self._offices,
            extra=envelope.data,
        )

    def after_commit(self) -> None:
        """Called by the consumer after the commit of a batch with new events."""
        batch, self._last = self._last, AlertBatch()
        if batch.queued:
            self._on_queued()
        if batch.applied and self._on_changed is not None:
            self._on_changed()
