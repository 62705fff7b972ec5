"""The alerts.v1 handler: keep each alert's latest state and queue its office webhooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.config import OfficeConfig
from hub_shared.consumer import Handler
from hub_shared.divisions import normalize_division
from hub_shared.envelope import Envelope
from hub_shared.events import AlertData
from notifier.service import ALERT_EVENTS, apply_alert_event

log = logging.getLogger(__name__)


def alerts_handler(
    *,
    offices: Sequence[OfficeConfig],
    on_queued: Callable[[], None],
    on_changed: Callable[[], None] | None = None,
) -> Handler:
    """A handler for the consumer loop; `on_queued` runs after a commit that queued
    deliveries, so the worker sends them at once instead of at its next poll, and
    `on_changed` after every commit that applied an alert event (live streams)."""

    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        if envelope.name not in ALERT_EVENTS:
            # Additive evolution: a newer event on this topic is not ours to fail on.
            log.info("alerts: ignoring event type %s (%s)", envelope.type, envelope.id)
            return
        alert = AlertData.model_validate(envelope.data)  # invalid -> dead-lettered
        # An unknown division could not be routed to anyone: dead-letter it (ValueError).
        division = normalize_division(alert.division_code)
        if division != alert.division_code:
            alert = alert.model_copy(update={"division_code": division})
        queued = await apply_alert_event(
            session,
            name=envelope.name,
            alert=alert,
            event_time=envelope.time,
            offices=offices,
            extra=envelope.data,
        )

        def after_commit(_session: Any) -> None:
            if queued:
                on_queued()
            if on_changed is not None:
                on_changed()

        event.listen(session.sync_session, "after_commit", after_commit, once=True)

    return handle
