"""The live stream of an office's alerts (server-sent events).

Streams read changes from the database (`updated_at`), so a change applied by another
notifier replica reaches them too, within `poll_seconds`; a change in this process wakes
them at once through the `AlertFeed`. Delivery on the stream is at least once: an event
id is the change time, and a client that reconnects with Last-Event-ID gets what changed
since (a few events twice, never one missed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from hub_shared import clock
from hub_shared.storage.db import SessionFactory
from hub_shared.web.auth import Principal
from notifier.inbox.alert_state import alert_json
from notifier.inbox.service import changed_since

# Transactions commit in a different order from their updated_at stamps: each read looks
# this far back and skips what it has already sent.
COMMIT_LAG = timedelta(seconds=5)
PAGE = 500


class AlertFeed:
    """Tells this process's streams that alerts changed; `close` ends every stream."""

    def __init__(self, poll_seconds: float = 2.0) -> None:
        self.poll_seconds = poll_seconds
        self._changed = asyncio.Event()
        self.closed = False

    def changed(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        self.closed = True
        self.changed()

    async def wait(self, event: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.poll_seconds):
                await event.wait()

    @property
    def current(self) -> asyncio.Event:
        return self._changed

    async def run(self) -> None:
        """A runtime worker whose only job is to end the streams when the app stops."""
        try:
            await asyncio.Event().wait()
        finally:
            self.close()


def parse_last_event_id(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return clock.as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


async def alert_changes(
    *,
    sessions: SessionFactory,
    feed: AlertFeed,
    principal: Principal,
    since: datetime | None,
) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events (`event: alert`, data: the alert as GET /v1/alerts/{id} shows
    it) for every change to an alert in the principal's divisions after `since`."""
    cursor = since or clock.now()
    sent: dict[str, datetime] = {}
    while not feed.closed:
        wake = feed.current
        after: tuple[datetime, str] | None = None
        while True:
            async with sessions() as session:
                rows = await changed_since(
                    session, principal=principal, since=cursor - COMMIT_LAG, after=after
                )
            for row in rows:
                changed_at = clock.as_utc(row.updated_at)
                if sent.get(row.alert_id) == changed_at:
                    continue
                sent[row.alert_id] = changed_at
                yield {
                    "event": "alert",
                    "id": changed_at.isoformat(),
                    "data": json.dumps(alert_json(row), ensure_ascii=False),
                }
            if len(rows) < PAGE:
                break
            after = (rows[-1].updated_at, rows[-1].alert_id)
        if sent:
            cursor = max(cursor, *sent.values())
        horizon = cursor - COMMIT_LAG
        for alert_id in [a for a, t in sent.items() if t < horizon]:
            del sent[alert_id]
        await feed.wait(wake)
