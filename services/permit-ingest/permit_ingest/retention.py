"""How long webhook receipts are kept (hub_shared.storage.retention prunes them)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col

from hub_shared.config import RetentionConfig
from hub_shared.storage.retention import PruneRule
from permit_ingest.tables import WebhookReceipt


def receipt_rule(config: RetentionConfig) -> PruneRule:
    """A receipt answers a source's retry of the same webhook-id; after the replay window a
    captured request no longer verifies, so only the source's own retries need it."""
    return PruneRule(
        "ingest_webhook_receipts",
        WebhookReceipt,
        key=[col(WebhookReceipt.source_id), col(WebhookReceipt.webhook_id)],
        stamp=col(WebhookReceipt.created_at),
        keep=timedelta(days=config.webhook_receipt_days),
    )
