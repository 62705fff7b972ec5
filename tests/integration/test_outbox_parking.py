"""An outbox row the broker refuses for good (larger than message.max.bytes) or that is not
an event at all is parked where operators see it; the relay publishes the rows after it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hub_shared.messaging.outbox import insert_staged, outbox_row
from hub_shared.runtime import ServiceRuntime
from hubtools.kafka import LocalKafka
from tests.support.hub import (
    AGENCY_TOKEN,
    bearer,
    payload,
    running,
    settings_for,
    topic_records,
    wait_for,
    write_config,
)

MiB = 1024 * 1024
OPERATOR = '\n[[clients]]\nid = "ops"\ntoken = "ops-token-0123456789"\nscopes = ["admin"]\n'
OPERATOR += 'divisions = ["370800"]\n'


async def fresh_topic(kafka: LocalKafka) -> str:
    name = f"outbox-parking-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return name


def row(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    return outbox_row("permit.issued", source="/hub/test", key="k", data=data) | {"topic": topic}


async def test_an_unpublishable_row_is_parked_listed_and_counted_and_the_rest_go_out(
    kafka: LocalKafka, tmp_path: Path
) -> None:
    from permit_ingest.app import create_app

    topic = await fresh_topic(kafka)
    config = write_config(tmp_path / "hub.toml")
    config.write_text(config.read_text(encoding="utf-8") + OPERATOR, encoding="utf-8")
    settings = settings_for(
        "permit-ingest",
        config=config,
        bootstrap=kafka.bootstrap,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'ingest.db'}",
        data_dir=tmp_path,
    )
    app = create_app(settings)
    too_large = row(topic, {"n": 2, "blob": "x" * (2 * MiB)})  # the broker takes 1 MiB
    not_an_event = row(topic, {"n": 3}) | {"payload": "{not json"}
    rows = [row(topic, {"n": 1}), too_large, not_an_event, row(topic, {"n": 4})]
    async with running(app) as client:
        runtime: ServiceRuntime = app.state.runtime
        async with runtime.sessions() as session, session.begin():
            await insert_staged(session, rows)
        runtime.relay.notify()

        async def drained() -> bool:
            return await runtime.relay.pending() == 0

        await wait_for(drained, timeout=60, what="the outbox drained")
        listed = await client.get("/v1/admin/outbox/parked", headers=bearer("ops-token-0123456789"))
        refused = await client.get("/v1/admin/outbox/parked", headers=bearer(AGENCY_TOKEN))
        metrics = (await client.get("/metrics")).text

    published = [payload(r)["n"] for r in await topic_records(kafka.bootstrap, topic)]
    assert sorted(set(published)) == [1, 4]
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [i["event_id"] for i in items] == [too_large["event_id"], not_an_event["event_id"]]
    assert items[0]["reason"].startswith("MessageSizeTooLargeError")
    assert items[0]["payload_bytes"] > 2 * MiB
    assert "blob" not in listed.text  # the payload stays out of the listing
    assert refused.status_code == 403
    assert "hub_outbox_parked 2.0" in metrics
    assert "hub_outbox_pending 0.0" in metrics
