"""The audit trail of one service: entries are recorded without waiting, appended to the
chain in batches by one background loop, the head is published on audit.v1, and entries
past their retention are pruned with the boundary hash kept.

Several instances of a service share one chain: an append takes the database's write lock
(SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock) before it reads the head.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col, select

from hub_shared import clock
from hub_shared.audit.chain import Draft, Head, content_of, entry_hash
from hub_shared.audit.tables import GENESIS, AuditAnchor, AuditEntry
from hub_shared.config import AuditConfig, ServiceSettings
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.events import AuditHeadData
from hub_shared.messaging.kafka import Producer
from hub_shared.messaging.topics import AUDIT

log = logging.getLogger(__name__)
_LOCK = 3708_2021_42
_BATCH = 1000


def audit_chain(settings: ServiceSettings) -> str:
    """The name of a service's chain in a deployment (the key of its heads on audit.v1)."""
    return f"{settings.consumer_group_prefix}-{settings.service}"


def now_text() -> str:
    """The `at` of an entry: UTC, microseconds, fixed width (so it sorts as text)."""
    return clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK})"))


async def read_head(conn: AsyncConnection) -> Head:
    """The newest entry, else the anchor of a fully pruned chain, else the genesis."""
    last = (
        await conn.execute(
            select(col(AuditEntry.seq), col(AuditEntry.entry_hash))
            .order_by(col(AuditEntry.seq).desc())
            .limit(1)
        )
    ).first()
    if last is not None:
        return Head(int(last[0]), str(last[1]))
    anchor = (await conn.execute(select(col(AuditAnchor.seq), col(AuditAnchor.entry_hash)))).first()
    return Head(int(anchor[0]), str(anchor[1])) if anchor else Head(0, GENESIS)


class AuditTrail:
    def __init__(
        self,
        engine: AsyncEngine,
        producer: Producer,
        *,
        service: str,
        chain: str,
        config: AuditConfig,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._service = service
        self.chain = chain
        self._source = f"/hub/{service}"
        self._config = config
        self._pending: collections.deque[Draft] = collections.deque()
        self._wake = asyncio.Event()
        self._published: Head | None = None
        self.appended = 0
        self._stopping = False
        self._appending = False

    def record(
        self,
        *,
        actor: str,
        operation: str,
        resource: str = "",
        content_hash: str = "",
        outcome: str,
    ) -> None:
        """Queue an entry; the appender writes it within the flush interval."""
        self._pending.append(
            Draft(now_text(), actor[:128], operation[:160], resource[:512], content_hash, outcome)
        )
        if len(self._pending) >= _BATCH:
            self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Append every queued entry to the chain; returns how many."""
        written = 0
        while self._pending:
            drafts = [self._pending.popleft() for _ in range(min(_BATCH, len(self._pending)))]
            try:
                await self._append(drafts)
            except BaseException:
                self._pending.extendleft(reversed(drafts))  # nothing recorded is dropped
                raise
            written += len(drafts)
        self.appended += written
        return written

    async def _append(self, drafts: list[Draft]) -> None:
        async with self._engine.begin() as conn:
            await _lock(conn)
            head = await read_head(conn)
            rows, prev, seq = [], head.entry_hash, head.seq
            for draft in drafts:
                content = content_of(draft)
                seq += 1
                digest = entry_hash(prev, content)
                rows.append({"seq": seq, **content, "prev_hash": prev, "entry_hash": digest})
                prev = digest
            await conn.execute(insert(AuditEntry), rows)

    def stop_appender(self) -> bool:
        """Shutdown. True when the appender may be cancelled now; False while it appends:
        it then returns after that batch, since an append cut by a cancellation can leave
        its connection, and with it the chain's lock, held."""
        self._stopping = True
        self._wake.set()
        return not self._appending

    async def run_appender(self) -> None:
        while not self._stopping:
            self._wake.clear()
            self._appending = True
            try:
                await self.flush()
            except Exception as exc:
                log.warning("audit trail: append failed, retrying: %s", exc)
            finally:
                self._appending = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._config.flush_interval_seconds):
                    await self._wake.wait()

    async def publish_head(self) -> Head:
        """Publish the chain head on audit.v1 unless it is the one published last."""
        async with self._engine.connect() as conn:
            head = await read_head(conn)
        if head != self._published and head.seq > 0:
            data = AuditHeadData(
                service=self._service,
                chain=self.chain,
                seq=head.seq,
                entry_hash=head.entry_hash,
                at=now_text(),
            )
            envelope = Envelope.new(
                "audit.head", source=self._source, data=data.to_json(), key=self.chain
            )
            await self._producer.publish_many([(AUDIT.name, envelope)])
            self._published = head
        return head

    async def run_head_publisher(self) -> None:
        while True:
            await asyncio.sleep(self._config.head_interval_seconds)
            try:
                await self.publish_head()
            except Exception as exc:
                log.warning("audit trail: publishing the head failed, retrying: %s", exc)

    async def prune(self, *, now: datetime | None = None) -> int:
        """Delete entries older than the retention; the last one deleted becomes the
        anchor, so the first entry left still verifies. Returns how many were deleted."""
        if not self._config.retention_days:
            return 0
        cutoff = (now or clock.now()) - timedelta(days=self._config.retention_days)
        cutoff_text = cutoff.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        async with self._engine.begin() as conn:
            await _lock(conn)
            last = (
                await conn.execute(
                    select(col(AuditEntry.seq), col(AuditEntry.entry_hash))
                    .where(col(AuditEntry.at) < cutoff_text)
                    .order_by(col(AuditEntry.seq).desc())
                    .limit(1)
                )
            ).first()
            if last is None:
                return 0
            gone = await conn.execute(delete(AuditEntry).where(col(AuditEntry.seq) <= last[0]))
            await conn.execute(delete(AuditAnchor))
            await conn.execute(
                insert(AuditAnchor).values(
                    id=1, seq=last[0], entry_hash=last[1], pruned_at=now_text()
                )
            )
            return int(gone.rowcount or 0)

    async def run_pruner(self) -> None:
        while True:
            try:
                if pruned := await self.prune():
                    log.info("audit trail: pruned %d entries past retention", pruned)
            except Exception as exc:
                log.warning("audit trail: pruning failed, retrying later: %s", exc)
            await asyncio.sleep(self._config.prune_interval_seconds)
