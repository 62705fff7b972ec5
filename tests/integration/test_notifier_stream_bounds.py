"""Live streams are bounded: open at once per office and in all (429 past either), and a
Last-Event-ID replays no further back than the configured window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col

from hubtools.kafka import LocalKafka
from notifier.inbox.stream_limits import StreamSlots
from notifier.tables import NotifierAlert
from tests.integration.test_notifier_streams import Stream
from tests.support.hub import bearer
from tests.support.notifier_harness import (
    CITY,
    RENCHENG,
    YANZHOU,
    Hub,
    new_alert,
    running_hub,
    until,
)

BOUNDS = "\n[streams]\nper_holder = 2\noverall = 3\nreplay_seconds = 3600\n"
PATH = "/v1/alerts/stream"


@pytest.fixture
async def hub(kafka: LocalKafka, sqlite_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(kafka, sqlite_url, tmp_path, http=True, delivery=BOUNDS) as running:
        yield running


async def test_streams_are_bounded_per_office_and_overall_and_slots_come_back(hub: Hub) -> None:
    assert hub.app is not None
    slots: StreamSlots = hub.app.state.stream_slots
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(Stream(hub.api, PATH, bearer(RENCHENG)))
        second = await stack.enter_async_context(Stream(hub.api, PATH, bearer(RENCHENG)))
        async with Stream(hub.api, PATH, bearer(RENCHENG)) as third:
            assert third.status == 429
        yanzhou = await stack.enter_async_context(Stream(hub.api, PATH, bearer(YANZHOU)))
        async with Stream(hub.api, PATH, bearer(CITY)) as city:
            assert city.status == 429  # the process's three are taken
        assert [first.status, second.status, yanzhou.status] == [200, 200, 200]
        assert (slots.held_by("rencheng"), slots.open) == (2, 3)

    async def given_back() -> bool:
        return slots.open == 0

    await until(given_back, what="every slot given back")
    async with Stream(hub.api, PATH, bearer(RENCHENG)) as again:
        assert again.status == 200


async def test_a_last_event_id_replays_no_further_back_than_the_window(hub: Hub) -> None:
    assert hub.app is not None
    old, recent = new_alert("370811"), new_alert("370811")
    for alert in (old, recent):
        await hub.publish("alert.raised", alert)
        await until(lambda a=alert: hub.stored(a["alert_id"]), what="stored")  # type: ignore[misc]
    now = datetime.now(UTC)
    async with hub.app.state.runtime.sessions() as session, session.begin():
        for alert, age in ((old, timedelta(days=2)), (recent, timedelta(minutes=10))):
            await session.execute(
                update(NotifierAlert)
                .where(col(NotifierAlert.alert_id) == alert["alert_id"])
                .values(updated_at=now - age)
            )

    headers = {**bearer(RENCHENG), "Last-Event-ID": "2001-01-01T00:00:00+00:00"}
    async with Stream(hub.api, PATH, headers) as resumed:
        await until(lambda: resumed.seen(recent["alert_id"]), what="the recent change")
        # Changes come oldest first: the two-day-old one would have come before.
        assert [a["alert_id"] for a in resumed.alerts] == [recent["alert_id"]]
