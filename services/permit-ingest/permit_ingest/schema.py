"""The permit-ingest service's tables and where their migrations live."""

from __future__ import annotations

from pathlib import Path

from hub_shared.db import table_of
from hub_shared.migrations import Schema
from permit_ingest.models import PermitRecord, WebhookReceipt

SCHEMA = Schema(
    service="permit-ingest",
    own_tables=[table_of(PermitRecord), table_of(WebhookReceipt)],
    migrations=Path(__file__).with_name("migrations"),
)
