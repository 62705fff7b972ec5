"""Two matcher instances of one consumer group, fed a shuffled and partly duplicated event
log through the real broker: the alerts end exactly as the rules say, none lost or doubled."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from enrollment.app import create_app
from enrollment.tables import Alert
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.processed_events import ProcessedEvent
from hub_shared.messaging.topics import topic_of
from hub_shared.runtime import ServiceRuntime
from hubtools.kafka import LocalKafka
from tests.support.events import permit_issued, project_enrolled
from tests.support.hub import (
    consuming,
    new_permit_no,
    payload,
    running,
    settings_for,
    topic_records,
    wait_for,
    write_config,
)


async def test_two_instances_end_in_the_rules_alerts_none_lost_or_doubled(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20211130)
    permits = [new_permit_no() for _ in range(60)]
    enrolled = set(rng.sample(permits, 30))
    log = [permit_issued(p) for p in permits] + [project_enrolled(p) for p in enrolled]
    log += rng.sample(log, 25)  # redeliveries: the same event ids again
    rng.shuffle(log)
    ids = {e.id for e in log}
    unique = len(ids)

    config = write_config(tmp_path / "hub.toml", grace_seconds=0)
    settings = settings_for(
        "enrollment",
        config=config,
        bootstrap=kafka.bootstrap,
        database_url=database_url,
        data_dir=tmp_path,
    )  # one consumer group, one database, two instances
    # A new group that starts at the end: the instances see this test's log, not the
    # session's history on the shared topics.
    settings = settings.model_copy(update={"consumer_offset_reset": "latest"})
    first, second = create_app(settings), create_app(settings)
    async with running(first), running(second):
        runtime: ServiceRuntime = first.state.runtime
        consumers = [c for app in (first, second) for c in app.state.runtime.consumers]
        await consuming(first, second)  # the group balanced over both instances
        producer = Producer(kafka.bootstrap, client_id="test-log")
        await producer.start()
        try:
            await producer.publish_many([(topic_of(e.name).name, e) for e in log])
        finally:
            await producer.stop()

        async def settled() -> bool:
            async with runtime.sessions() as session:
                applied = (
                    await session.exec(
                        select(func.count())
                        .select_from(ProcessedEvent)
                        .where(ProcessedEvent.consumer == "matcher")
                        .where(col(ProcessedEvent.event_id).in_(ids))
                    )
                ).one()
                rows = (
                    await session.exec(select(Alert).where(col(Alert.subject_key).in_(permits)))
                ).all()
            open_now = {a.subject_key for a in rows if a.status == "open"}
            return applied == unique and open_now == set(permits) - enrolled

        await wait_for(settled, timeout=90, what="both instances to apply the log")
        assert all(c.applied > 0 for c in consumers), "both instances took part"

        async def all_published() -> bool:  # before the instances stop
            runtimes = [app.state.runtime for app in (first, second)]
            return all([await r.relay.pending() == 0 for r in runtimes])

        await wait_for(all_published, timeout=90, what="both outboxes to drain")

    async def published() -> list[dict[str, Any]]:
        events = []
        for record in await topic_records(kafka.bootstrap, "alerts.v1"):
            data = payload(record)
            if data.get("subject", {}).get("permit_no") in permits:
                events.append({"type": dict(record.headers)["ce_type"].decode(), **data})
        raised = {e["subject"]["permit_no"] for e in events if e["type"].endswith("raised")}
        return events if raised >= set(permits) - enrolled else []

    events = await wait_for(published, timeout=90, what="alerts on alerts.v1")
    raised = Counter(e["subject"]["permit_no"] for e in events if e["type"].endswith("raised"))
    assert max(raised.values()) == 1, "an alert was raised twice for one permit"
    resolved = {e["subject"]["permit_no"] for e in events if e["type"].endswith("resolved")}
    still_open = set(raised) - resolved
    assert still_open == set(permits) - enrolled
