"""The notifier's tables: the office inbox (latest state of each alert), the durable
delivery queue with its attempt log, and the health of each office webhook endpoint."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Column, Index, Table, Text, text
from sqlmodel import Field, SQLModel

from hub_shared import clock
from hub_shared.storage.migrations import Schema
from hub_shared.web.web_sessions import WebSession


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    EXHAUSTED = "exhausted"  # the retry schedule ran out; kept for the log
    DISABLED = "disabled"  # the office's endpoint answered 410 or failed too long


class NotifierAlert(SQLModel, table=True):
    """The latest state of one alert, as the alerts.v1 events and acks left it."""

    __tablename__ = "notifier_alerts"
    __table_args__ = (
        Index("ix_notifier_alerts_page", "raised_at", "alert_id"),
        Index("ix_notifier_alerts_changes", "updated_at"),
    )

    alert_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16, index=True)
    division_code: str = Field(max_length=12, index=True)
    # subject.department: the department that owns the subject (an inspection finding's),
    # which a regulator's reads are limited to.
    department: str | None = Field(default=None, max_length=32, index=True)
    raised_at: datetime
    resolved_at: datetime | None = None
    # The CloudEvents time of the event that produced the stored state: with the status
    # it decides whether a later-arriving event is older than what we hold.
    event_time: datetime
    payload: str = Field(sa_column=Column(Text, nullable=False))  # AlertData JSON
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = Field(default=None, max_length=128)
    dismissed_at: datetime | None = None
    dismissed_by: str | None = Field(default=None, max_length=128)
    dismissal_reason: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(default_factory=clock.now)


_PENDING_ONLY = "status = 'pending'"


class Delivery(SQLModel, table=True):
    """One CloudEvent to one office: a durable row retried until delivered or exhausted."""

    __tablename__ = "notifier_deliveries"
    __table_args__ = (
        Index("ix_notifier_deliveries_order", "office_id", "alert_id", "id"),
        # The queue of each office in due order, pending rows only: a claim reads the first
        # few (notifier.delivery.store.claim_due) and stops, however long the backlog. (It
        # replaces ix_notifier_deliveries_due on status and due time, which a planner with
        # stale statistics preferred, then sorted the whole backlog on every claim.)
        Index(
            "ix_notifier_deliveries_queue",
            "office_id",
            "next_attempt_at",
            "id",
            postgresql_where=text(_PENDING_ONLY),
            sqlite_where=text(_PENDING_ONLY),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=36)  # the webhook-id, same on every retry
    office_id: str = Field(max_length=64)
    alert_id: str = Field(max_length=64, index=True)
    event_name: str = Field(max_length=32)  # alert.raised | alert.resolved
    body: str = Field(sa_column=Column(Text, nullable=False))  # the exact bytes we POST
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=16)
    attempts: int = 0  # every POST, probes included (the log numbers them)
    failures: int = 0  # failed attempts that used up a step of the retry schedule
    next_attempt_at: datetime = Field(default_factory=clock.now)
    lease_until: datetime | None = None  # claimed by a worker until then
    leased_by: str | None = Field(default=None, max_length=36)  # that worker's id
    created_at: datetime = Field(default_factory=clock.now)
    delivered_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)


class DeliveryAttempt(SQLModel, table=True):
    """One POST of a delivery: when, what came back, how long it took."""

    __tablename__ = "notifier_delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(index=True)
    attempt_no: int
    attempted_at: datetime
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    latency_ms: float


class Endpoint(SQLModel, table=True):
    """An office webhook URL's health: failing since when, and disabled (410 Gone, or
    failing for `disable_after_seconds`). A new URL in the config is a new endpoint, so
    changing it re-enables delivery; so does an admin redelivery."""

    __tablename__ = "notifier_endpoints"

    office_id: str = Field(primary_key=True, max_length=64)
    webhook_url: str = Field(sa_column=Column(Text, nullable=False))
    disabled_at: datetime | None = None
    disabled_reason: str | None = Field(default=None, max_length=500)
    failing_since: datetime | None = None  # first failure of the current unbroken run


class OfficeLease(SQLModel, table=True):
    """Which notifier worker delivers to an office, until when (notifier.delivery.leases)."""

    __tablename__ = "notifier_office_leases"

    office_id: str = Field(primary_key=True, max_length=64)
    worker: str | None = Field(default=None, max_length=36)
    until: datetime | None = None


class NotifierWorker(SQLModel, table=True):
    """A live delivery worker and its last heartbeat: offices are shared among these."""

    __tablename__ = "notifier_workers"

    worker: str = Field(primary_key=True, max_length=36)
    seen_at: datetime


def table_of(model: type[SQLModel]) -> Table:
    table: Table = getattr(model, "__table__")  # noqa: B009 - SQLModel adds it at runtime
    return table


TABLES: tuple[Table, ...] = tuple(
    table_of(m)
    for m in (NotifierAlert, Delivery, DeliveryAttempt, Endpoint, OfficeLease, NotifierWorker)
)

# The tables this service owns and where their migrations live.
SCHEMA = Schema(
    service="notifier",
    own_tables=[*TABLES, table_of(WebSession)],
    migrations=Path(__file__).with_name("migrations"),
)
