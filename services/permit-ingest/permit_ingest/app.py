"""permit-ingest: approval systems post signed permits; each becomes a `permit.issued` event."""

from __future__ import annotations

from fastapi import FastAPI

from hub_shared.config import ServiceSettings
from hub_shared.runtime import ServiceRuntime
from hub_shared.service_app import build_app
from permit_ingest.api import router
from permit_ingest.retention import receipt_rule
from permit_ingest.tables import SCHEMA


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings, schema=SCHEMA)
    runtime.pruner.add(receipt_rule(settings.hub.retention))
    return build_app(
        title="permit-ingest",
        description="Signed construction-permit webhooks from approval systems "
        "(docs/interfaces.md §4).",
        runtime=runtime,
        routers=[router],
    )
