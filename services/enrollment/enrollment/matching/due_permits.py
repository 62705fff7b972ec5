"""The durable schedule of the grace period: permits whose due time has passed are judged
by a scan of the due-time column, so a restart forgets none of them."""

from __future__ import annotations

import asyncio
import logging

from enrollment.matching import driver
from enrollment.matching.rules import Policy
from hub_shared.runtime import ServiceRuntime, Worker

log = logging.getLogger(__name__)


def matching_policy(runtime: ServiceRuntime) -> Policy:
    """The matcher's policy from the service's settings."""
    matching = runtime.settings.hub.matching
    return Policy(
        source=runtime.source,
        grace_seconds=matching.grace_seconds,
        name_threshold=matching.name_threshold,
    )


def due_permit_scanner(runtime: ServiceRuntime) -> Worker:
    """A worker judging the permits whose grace period passed, even after a restart,
    because the due time is a column and not a timer in memory."""
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
