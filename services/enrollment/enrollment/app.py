"""enrollment: the coverage registry and the matcher that raises and resolves alerts."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from enrollment.imports.api import import_router
from enrollment.matching import driver
from enrollment.matching.rules import Policy
from enrollment.registry.api import router
from enrollment.tables import SCHEMA
from hub_shared.config import ServiceSettings
from hub_shared.consumer import EventConsumer
from hub_shared.runtime import ServiceRuntime, Worker
from hub_shared.service_app import build_app

log = logging.getLogger(__name__)


def matching_policy(runtime: ServiceRuntime) -> Policy:
    matching = runtime.settings.hub.matching
    return Policy(
        source=runtime.source,
        grace_seconds=matching.grace_seconds,
        name_threshold=matching.name_threshold,
    )


def _due_permit_scanner(runtime: ServiceRuntime) -> Worker:
    """The durable schedule: permits whose grace period passed are judged, even after a
    restart, because the due time is a column and not a timer in memory."""
    policy = matching_policy(runtime)
    interval = runtime.settings.hub.matching.scan_interval_seconds

    async def scan() -> None:
        while True:
            async with runtime.sessions() as session, session.begin():
                checked = await driver.judge_due(session, policy)
            if checked:
                runtime.relay.notify()
                log.info("matcher: judged %d due permit(s)", checked)
                continue
            await asyncio.sleep(interval)

    return scan


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
    runtime.add_worker("due-permits", _due_permit_scanner(runtime))
    return build_app(
        title="enrollment",
        description="Work-injury insurance coverage registry and matcher (CONTRACTS.md §5, §7).",
        runtime=runtime,
        routers=[router, import_router],
    )
