"""Tracing across Kafka, three services in-process against the real broker: a permit
posted with a W3C traceparent is received by the matcher, raises an alert and reaches
the office's webhook in the same trace, with spans from permit-ingest, enrollment and the
notifier (in-memory exporter). Off, nothing is traced and no header is written."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text

from enrollment.app import create_app as create_enrollment
from hub_shared import tracing
from hub_shared.config import RetentionConfig, ServiceName
from hub_shared.storage.db import create_tables, make_engine, make_sessions, table_of
from hub_shared.storage.retention import Pruner, trace_link_rule
from hub_shared.tracing.links import TraceLink
from hubtools.kafka import LocalKafka
from notifier.app import create_app as create_notifier
from permit_ingest.app import create_app as create_ingest
from tests.support.hub import (
    consuming,
    encode,
    new_permit_no,
    permit,
    running,
    settings_for,
    signed,
    wait_for,
    write_config,
)
from tests.support.receiver import Receiver, webhook_receiver


@pytest.fixture
def exporter() -> AsyncIterator[InMemorySpanExporter]:
    """Tracing on for the services built in the test, into memory."""
    found = InMemorySpanExporter()
    processor = SimpleSpanProcessor(found)
    tracing.span_processors.append(processor)
    try:
        yield found  # type: ignore[misc]
    finally:
        tracing.span_processors.remove(processor)


def _app(service: ServiceName, config: Path, kafka: LocalKafka, tmp_path: Path) -> FastAPI:
    settings = settings_for(
        service,
        config=config,
        bootstrap=kafka.bootstrap,
        database_url=f"sqlite+aiosqlite:///{tmp_path / (service + '.db')}",
        data_dir=tmp_path,
    ).model_copy(update={"consumer_offset_reset": "latest"})  # this test's events only
    factory = {
        "permit-ingest": create_ingest,
        "enrollment": create_enrollment,
        "notifier": create_notifier,
    }[service]
    return factory(settings)


def _delivered(receiver: Receiver, permit_no: str) -> list[Any]:
    found = []
    for webhook in receiver.received:
        body = json.loads(webhook.body)
        if body.get("data", {}).get("subject", {}).get("permit_no") == permit_no:
            found.append(webhook)
    return found


async def test_a_permits_trace_reaches_its_alerts_webhook(
    kafka: LocalKafka, tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    async with webhook_receiver() as receiver:
        config = write_config(tmp_path / "hub.toml", grace_seconds=0, office_webhook=receiver.url)
        apps = {
            s: _app(s, config, kafka, tmp_path) for s in ("permit-ingest", "enrollment", "notifier")
        }
        async with (
            running(apps["permit-ingest"]) as ingest,
            running(apps["enrollment"]),
            running(apps["notifier"]),
        ):
            await consuming(apps["enrollment"], apps["notifier"])
            trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
            permit_no = new_permit_no()
            body = encode(permit(permit_no))
            headers = {**signed(body), "traceparent": f"00-{trace_id}-{parent}-01"}
            answer = await ingest.post("/v1/permits", content=body, headers=headers)
            assert answer.status_code == 202, answer.text

            async def delivered() -> list[Any]:
                return _delivered(receiver, permit_no)

            (webhook,) = await wait_for(delivered, timeout=60, what="the alert's webhook")
    version, webhook_trace, _span, _flags = webhook.headers["traceparent"].split("-")
    assert (version, webhook_trace) == ("00", trace_id)
    in_trace = [
        s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id
    ]
    services = {str(s.resource.attributes["service.name"]) for s in in_trace}
    assert services == {"permit-ingest", "enrollment", "notifier"}
    names = {s.name for s in in_trace}
    assert "POST /v1/permits" in names
    assert any(n.startswith("deliver webhook to") for n in names)


async def test_tracing_off_writes_no_traceparent(kafka: LocalKafka, tmp_path: Path) -> None:
    config = write_config(tmp_path / "hub.toml")
    app = _app("permit-ingest", config, kafka, tmp_path)
    assert app.state.runtime.tracer is None
    async with running(app) as ingest:
        body = encode(permit(new_permit_no()))
        traced = {**signed(body), "traceparent": f"00-{secrets.token_hex(16)}-{'1' * 16}-01"}
        assert (await ingest.post("/v1/permits", content=body, headers=traced)).status_code == 202
        async with app.state.runtime.sessions() as session:
            rows = (await session.execute(text("SELECT traceparent FROM outbox"))).all()
    assert rows and all(tp is None for (tp,) in rows)


async def test_old_trace_links_are_pruned(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        await create_tables(engine, [table_of(TraceLink)])
        now = datetime.now(UTC)
        sessions = make_sessions(engine)
        async with sessions() as session, session.begin():
            for event_id, age in (("old", timedelta(days=8)), ("new", timedelta(hours=1))):
                session.add(TraceLink(event_id=event_id, traceparent="00-x", recorded_at=now - age))
        pruner = Pruner(sessions, RetentionConfig(), [trace_link_rule(grace_seconds=60)])
        assert await pruner.prune_once(now) == {"trace_links": 1}  # kept a week
        async with sessions() as session:
            left = (await session.execute(text("SELECT event_id FROM trace_links"))).all()
        assert [row[0] for row in left] == ["new"]
    finally:
        await engine.dispose()
