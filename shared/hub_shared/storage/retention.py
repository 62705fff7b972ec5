"""Pruning the bookkeeping tables (outbox, inbox, a service's own) on a schedule.

Each rule deletes rows older than its age in batches of `batch_size`, each in its own short
transaction, so that writers wait at most one batch. The ages come from the `[retention]`
configuration, which refuses an inbox that forgets sooner than the topics do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select, tuple_
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel, col

from hub_shared.config import RetentionConfig
from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.messaging.processed_events import ProcessedEvent
from hub_shared.storage.db import SessionFactory
from hub_shared.tracing.links import TraceLink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PruneRule:
    """Rows of `key`'s table whose `stamp` is older than `keep` go (and `only` holds)."""

    name: str
    table: type[SQLModel]
    key: Sequence[Mapped[Any]]  # the primary key's columns
    stamp: Mapped[Any]
    keep: timedelta
    only: ColumnElement[bool] | None = None


def standard_rules(config: RetentionConfig) -> list[PruneRule]:
    """The outbox's published rows and the inbox, which every service has."""
    return [
        PruneRule(
            "outbox",
            OutboxMessage,
            key=[col(OutboxMessage.id)],
            stamp=col(OutboxMessage.sent_at),
            keep=timedelta(days=config.outbox_sent_days),
            only=col(OutboxMessage.sent_at).is_not(None),
        ),
        PruneRule(
            "inbox",
            ProcessedEvent,
            key=[col(ProcessedEvent.event_id), col(ProcessedEvent.consumer)],
            stamp=col(ProcessedEvent.processed_at),
            keep=timedelta(days=config.inbox_days),
        ),
    ]


def trace_link_rule(grace_seconds: float) -> PruneRule:
    """Trace links (kept while tracing is on) need only outlive what may still continue a
    trace: the grace period of a permit's alert, twice over, and never less than a week."""
    return PruneRule(
        "trace_links",
        TraceLink,
        key=[col(TraceLink.event_id)],
        stamp=col(TraceLink.recorded_at),
        keep=timedelta(seconds=max(7 * 86400, 2 * grace_seconds)),
    )


class Pruner:
    """Runs every rule once per `interval_seconds`; `prune_once` for tests and tools."""

    def __init__(
        self, sessions: SessionFactory, config: RetentionConfig, rules: Sequence[PruneRule]
    ) -> None:
        self._sessions = sessions
        self._config = config
        self.rules = list(rules)
        self.pruned: dict[str, int] = {rule.name: 0 for rule in self.rules}

    def add(self, rule: PruneRule) -> None:
        self.rules.append(rule)
        self.pruned[rule.name] = 0

    async def run(self) -> None:
        while True:
            await self.prune_once()
            await asyncio.sleep(self._config.interval_seconds)

    async def prune_once(self, now: datetime | None = None) -> dict[str, int]:
        """Delete what every rule lets go; returns the rows deleted per rule."""
        now = now or datetime.now(UTC)
        done: dict[str, int] = {}
        for rule in self.rules:
            done[rule.name] = await self._prune(rule, now - rule.keep)
            self.pruned[rule.name] += done[rule.name]
            if done[rule.name]:
                log.info("retention: %d %s rows pruned", done[rule.name], rule.name)
        return done

    async def _prune(self, rule: PruneRule, cutoff: datetime) -> int:
        total = 0
        while True:
            where = [rule.stamp < cutoff] + ([rule.only] if rule.only is not None else [])
            batch = select(*rule.key).where(*where).limit(self._config.batch_size)
            async with self._sessions() as session, session.begin():
                result = await session.execute(
                    delete(rule.table).where(tuple_(*rule.key).in_(batch))
                )
            deleted = int(getattr(result, "rowcount", 0) or 0)
            total += deleted
            if deleted < self._config.batch_size:
                return total
            await asyncio.sleep(0)  # let waiting writers in between batches
