"""enrollment: the coverage registry and the matcher that raises and resolves alerts.
This module only wires them: routes, the matcher's consumer and the due-permit scan."""

from __future__ import annotations

from fastapi import FastAPI

from enrollment.imports.api import import_router
from enrollment.matching import driver
from enrollment.matching.due_permits import due_permit_scanner, matching_policy
from enrollment.registry.api import router
from enrollment.tables import SCHEMA
from hub_shared.config import ServiceSettings
from hub_shared.messaging.consumer import EventConsumer
from hub_shared.runtime import ServiceRuntime
from hub_shared.service_app import build_app


def add_matcher(runtime: ServiceRuntime) -> EventConsumer:
    """The matcher's consumer: each poll, of every topic it reads, applied as one set."""
    return runtime.add_consumer(
        name="matcher",
        topics=driver.TOPICS,
        handler=driver.batch_handler(matching_policy(runtime)),
        batched=True,
        whole_poll=True,
        max_records=runtime.settings.hub.matching.batch_size,
    )


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings, schema=SCHEMA)
    add_matcher(runtime)
    runtime.add_worker("due-permits", due_permit_scanner(runtime))
    return build_app(
        title="enrollment",
        description="Work-injury insurance coverage registry and matcher "
        "(docs/interfaces.md §5, §7).",
        runtime=runtime,
        routers=[router, import_router],
    )
