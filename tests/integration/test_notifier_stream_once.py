"""Each change of an alert reaches a live stream once: the notifier reading back its own
`alert.acknowledged` from alerts.v1 changes nothing, so the city's stream does not show the
acknowledgement a second time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.messaging.processed_events import ProcessedEvent
from hub_shared.runtime import ServiceRuntime
from hubtools.kafka import LocalKafka
from tests.integration.test_notifier_streams import Stream
from tests.support.hub import bearer
from tests.support.notifier_harness import (
    CITY,
    RENCHENG,
    Hub,
    new_alert,
    running_hub,
    until,
)


@pytest.fixture
async def hub(kafka: LocalKafka, sqlite_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(kafka, sqlite_url, tmp_path, http=True) as running:
        yield running


async def test_an_acknowledgement_appears_once_on_the_citys_stream(hub: Hub) -> None:
    assert hub.app is not None
    runtime: ServiceRuntime = hub.app.state.runtime
    alert, marker = new_alert("370811"), new_alert("370811")
    async with Stream(hub.api, "/v1/alerts/stream", bearer(CITY)) as city:
        await hub.publish("alert.raised", alert)
        await until(lambda: city.seen(alert["alert_id"], status="open"), what="the raise")
        acked = await hub.api.post(f"/v1/alerts/{alert['alert_id']}/ack", headers=bearer(RENCHENG))
        assert acked.status_code == 200

        async def own_event_read_back() -> bool:
            async with runtime.sessions() as session:
                query = select(col(OutboxMessage.event_id)).where(
                    col(OutboxMessage.key) == alert["alert_id"]
                )
                ids = list((await session.exec(query)).all())
                applied = select(col(ProcessedEvent.event_id)).where(
                    col(ProcessedEvent.event_id).in_(ids)
                )
                return bool(ids) and len((await session.exec(applied)).all()) == len(ids)

        await until(own_event_read_back, what="the notifier's own ack event applied")
        # The stream sends changes in the order they were stamped: once a later change is
        # on it, any change the read-back made is on it too.
        await hub.publish("alert.raised", marker)
        await until(lambda: city.seen(marker["alert_id"]), what="the later change")

    acks = [a for a in city.about({alert["alert_id"]}) if a["acknowledged_by"] == "rencheng"]
    assert len(acks) == 1, acks
