"""The outbox, the inbox and webhook receipts are pruned on the configured schedule, each
no sooner than what could bring its rows back: a topic replay, a source's retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import col, select

from hub_shared.config import HubConfig, RetentionConfig
from hub_shared.messaging.outbox import OutboxMessage, insert_staged, outbox_row
from hub_shared.messaging.processed_events import ProcessedEvent
from hub_shared.runtime import ServiceRuntime
from permit_ingest.tables import WebhookReceipt
from tests.support.hub import running, settings_for, wait_for, write_config

NOW = datetime.now(UTC)
RETENTION = """
[retention]
interval_seconds = 0.1
topic_days = 30
inbox_days = 31
outbox_sent_days = 2
webhook_receipt_days = 3
batch_size = 2
"""


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def outbox(name: str, *, sent: float | None, parked: float | None = None) -> dict[str, Any]:
    row = outbox_row("permit.issued", source="/hub/test", key=name, data={"n": name})
    row["created_at"] = days_ago(40)
    row["sent_at"] = days_ago(sent) if sent is not None else None
    row["parked_at"] = days_ago(parked) if parked is not None else None
    return row


def inbox(name: str, age: float) -> ProcessedEvent:
    return ProcessedEvent(consumer="c", event_id=name, topic="t", processed_at=days_ago(age))


def receipt(name: str, age: float) -> WebhookReceipt:
    return WebhookReceipt(
        source_id="s", webhook_id=name, status_code=202, response="{}", created_at=days_ago(age)
    )


async def test_old_rows_go_on_schedule_and_young_ones_stay(
    tmp_path: Path, database_url: str
) -> None:
    from permit_ingest.app import create_app

    config = write_config(tmp_path / "hub.toml")
    config.write_text(config.read_text(encoding="utf-8") + RETENTION, encoding="utf-8")
    settings = settings_for(
        "permit-ingest",
        config=config,
        bootstrap="127.0.0.1:9",
        database_url=database_url,
        data_dir=tmp_path,
    )
    app = create_app(settings)
    async with running(app) as client:
        runtime: ServiceRuntime = app.state.runtime
        async with runtime.sessions() as session, session.begin():
            await insert_staged(
                session,
                [
                    *(outbox(f"sent-long-ago-{i}", sent=3) for i in range(5)),
                    outbox("sent-yesterday", sent=1),
                    outbox("never-sent", sent=None),
                    outbox("parked-long-ago", sent=None, parked=20),
                ],
            )
            session.add_all([inbox(f"old-{i}", 32) for i in range(5)] + [inbox("young", 29)])
            session.add_all([receipt(f"old-{i}", 4) for i in range(3)] + [receipt("young", 2)])

        async def pruned() -> bool:
            return runtime.pruner.pruned == {
                "outbox": 5,
                "inbox": 5,
                "ingest_webhook_receipts": 3,
            }

        await wait_for(pruned, timeout=20, what="the old rows pruned")
        async with runtime.sessions() as session:
            keys = (await session.exec(select(col(OutboxMessage.key)))).all()
            events = (await session.exec(select(col(ProcessedEvent.event_id)))).all()
            receipts = (await session.exec(select(col(WebhookReceipt.webhook_id)))).all()
        metrics = (await client.get("/metrics")).text

    assert sorted(k or "" for k in keys) == ["never-sent", "parked-long-ago", "sent-yesterday"]
    assert list(events) == ["young"]
    assert list(receipts) == ["young"]
    assert 'hub_retention_pruned{table="inbox"} 5.0' in metrics


def test_the_retention_figures_are_configured_with_safe_defaults() -> None:
    config = HubConfig.model_validate({})

    assert config.retention == RetentionConfig(
        interval_seconds=3600,
        topic_days=365,
        inbox_days=400,
        outbox_sent_days=7,
        webhook_receipt_days=30,
        batch_size=5000,
    )


def test_an_inbox_that_forgets_sooner_than_the_topics_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"inbox_days \(30.0\) must be at least"):
        HubConfig.model_validate({"retention": {"topic_days": 365, "inbox_days": 30}})


def test_receipts_kept_shorter_than_the_replay_window_are_refused() -> None:
    with pytest.raises(ValidationError, match="outlast the webhook replay window"):
        HubConfig.model_validate({"retention": {"webhook_receipt_days": 0.001}})
