"""The alerts.v1 handler: keep each alert's latest state and queue its office webhooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.config import OfficeConfig
from hub_shared.divisions import normalize_division
from hub_shared.envelope import Envelope
from hub_shared.events import AlertData
from hub_shared.processed_events import Handler
from notifier.inbox.alert_state import (
    ALERT_EVENTS,
    PENDING_ROWS_KEY,
    apply_alert_event,
    load_alerts,
)
from notifier.tables import Delivery, table_of

log = logging.getLogger(__name__)
_BATCH_KEY = "notifier.batch"


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
        batch = _batch_of(session)
        queued = await apply_alert_event(
            session,
            name=envelope.name,
            alert=alert,
            event_time=envelope.time,
            offices=offices,
            extra=envelope.data,
        )
        batch.queued = batch.queued or bool(queued)
        if batch.listening:
            return
        batch.listening = True

        def after_commit(_session: Any) -> None:
            if batch.queued:
                on_queued()
            if on_changed is not None:
                on_changed()

        event.listen(session.sync_session, "after_commit", after_commit, once=True)

    return handle


class _Batch:
    """What the events of one transaction (a consumer batch) did, for after the commit."""

    queued = False
    listening = False


def _batch_of(session: AsyncSession) -> _Batch:
    batch = session.info.get(_BATCH_KEY)
    if batch is None:
        # The consumer applies a batch of events in one transaction. Flushing after each
        # (autoflush on the next query) cost three round trips per event; the rows now go
        # to the database in one flush at commit. apply_alert_event finds alerts added
        # earlier in the same transaction itself (notifier.inbox.alert_state.ALERTS_KEY).
        session.sync_session.autoflush = False
        batch = session.info[_BATCH_KEY] = _Batch()
        rows: list[dict[str, Any]] = session.info.setdefault(PENDING_ROWS_KEY, [])

        def insert_deliveries(sync_session: Session) -> None:
            if rows:  # runs inside the commit's greenlet, so it may execute
                sync_session.execute(insert(table_of(Delivery)), rows)
                rows.clear()

        event.listen(session.sync_session, "before_commit", insert_deliveries, once=True)
    assert isinstance(batch, _Batch)
    return batch


async def prepare_alerts(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Before a consumer batch: read the state of all its alerts in one query."""
    ids = [e.data.get("alert_id") for e in envelopes if e.name in ALERT_EVENTS]
    await load_alerts(session, [i for i in ids if isinstance(i, str)])
