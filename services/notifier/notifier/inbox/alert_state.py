"""The office inbox's state: apply alert events, queue their webhooks, render alerts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import TypeAdapter
from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.config import OfficeConfig
from hub_shared.messaging.events import AlertData, AlertKind
from hub_shared.messaging.topics import event_type
from notifier.delivery import regulators
from notifier.delivery.schedule import is_older
from notifier.tables import Delivery, DeliveryStatus, Endpoint, NotifierAlert, table_of

RAISED, RESOLVED, ACKNOWLEDGED = "alert.raised", "alert.resolved", "alert.acknowledged"
ALERT_EVENTS = frozenset({RAISED, RESOLVED, ACKNOWLEDGED})
WEBHOOK_SOURCE = "/hub/enrollment"  # docs/interfaces.md §8 fixes the source of office webhooks
# Extension: alerts the notifier raises itself about its own operation. They live in the
# notifier only (REST, webhooks, stream, dashboard), never on alerts.v1.
ENDPOINT_DISABLED = "delivery_endpoint_disabled"
InboxKind = Literal[AlertKind, "delivery_endpoint_disabled"]
HUB_KINDS: frozenset[str] = frozenset(get_args(AlertKind))
_FORMAT = JSONFormat()
_TIME = TypeAdapter(datetime)
_DELIVERIES = table_of(Delivery)


@dataclass
class AlertBatch:
    """One transaction's alert events (a consumer batch), passed to each call that applies
    one of them. With autoflush off, an alert added by an earlier event of the batch is not
    in the database yet: `alerts` holds it. Delivery rows wait in `deliveries` and go in
    with one statement (`insert_deliveries`) before the transaction commits."""

    alerts: dict[str, NotifierAlert] = field(default_factory=dict)  # read or added, by id
    loaded: set[str] = field(default_factory=set)  # ids whose stored state load_alerts read
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    disabled: dict[str, str] | None = None  # disabled_endpoints, read once per batch
    queued: int = 0  # deliveries queued
    applied: int = 0  # alert events applied


async def load_alerts(session: AsyncSession, batch: AlertBatch, alert_ids: Collection[str]) -> None:
    """Read (and lock) the stored state of a batch's alerts in one query, for
    `apply_alert_event`, instead of one query per event."""
    ids = set(alert_ids) - batch.loaded
    if not ids:
        return
    query = select(NotifierAlert).where(col(NotifierAlert.alert_id).in_(ids)).with_for_update()
    for row in (await session.exec(query)).all():
        batch.alerts.setdefault(row.alert_id, row)
    batch.loaded.update(ids)


async def insert_deliveries(session: AsyncSession, batch: AlertBatch) -> None:
    """The delivery rows the batch queued, in one statement, in the order queued."""
    if batch.deliveries:
        await session.execute(insert(_DELIVERIES), batch.deliveries)
        batch.deliveries = []


def iso(moment: datetime | None) -> str | None:
    """A stored time as the events write it (pydantic's JSON form, UTC)."""
    return None if moment is None else str(_TIME.dump_python(clock.as_utc(moment), mode="json"))


def alert_json(row: NotifierAlert) -> dict[str, Any]:
    """The alert in the shape of docs/interfaces.md §7, plus who acknowledged or dismissed it
    and when (additive fields)."""
    data: dict[str, Any] = json.loads(row.payload)
    data["status"] = row.status
    data["acknowledged_at"] = iso(row.acknowledged_at)
    data["acknowledged_by"] = row.acknowledged_by
    data["dismissed_at"] = iso(row.dismissed_at)
    data["dismissed_by"] = row.dismissed_by
    data["dismissal_reason"] = row.dismissal_reason
    return data


async def apply_alert_event(
    session: AsyncSession,
    batch: AlertBatch,
    *,
    name: str,
    alert: AlertData,
    event_time: datetime,
    offices: Sequence[OfficeConfig],
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Keep the alert's latest state; queue webhooks when it was raised or resolved.
    `extra`: the event's raw data, for the dismissal fields AlertData does not carry.
    Returns how many deliveries were queued (they wait in `batch.deliveries`)."""
    batch.applied += 1
    event_time = clock.as_utc(event_time)
    known = batch.alerts
    row = known.get(alert.alert_id)
    if row is None and alert.alert_id not in batch.loaded:
        row = await session.get(NotifierAlert, alert.alert_id, with_for_update=True)
    if row is not None and is_older(
        incoming_status=alert.status,
        incoming_time=event_time,
        stored_status=row.status,
        stored_time=row.event_time,
    ):
        _keep_ack(row, alert, extra)  # a late event may still carry an ack we have not seen
        return 0
    previous = row.status if row is not None else None
    # The notifier reads its own alert.acknowledged back from alerts.v1: the same state
    # again must not look like a change to the live streams (they send by updated_at).
    shown = (alert_json(row), row.updated_at) if row is not None else None
    if row is None:
        row = NotifierAlert(
            alert_id=alert.alert_id,
            kind=alert.kind,
            status=alert.status,
            division_code=alert.division_code,
            raised_at=clock.as_utc(alert.raised_at),
            event_time=event_time,
            payload="",
        )
    row.kind, row.status, row.division_code = alert.kind, alert.status, alert.division_code
    row.department = alert.subject.department
    row.raised_at, row.event_time = clock.as_utc(alert.raised_at), event_time
    row.resolved_at = clock.as_utc(alert.resolved_at) if alert.resolved_at else None
    row.payload = alert.model_dump_json(exclude={"acknowledged_at", "acknowledged_by"})
    row.updated_at = clock.now()
    _keep_ack(row, alert, extra)
    if shown is not None and alert_json(row) == shown[0]:
        row.updated_at = shown[1]
    session.add(row)
    known[row.alert_id] = row
    # One webhook per transition: a second `raised` of a known alert, or a `resolved` of
    # an alert already resolved, changes the state but tells the offices nothing new.
    # A dismissed alert that is then resolved is still announced: dismissal is one
    # office's view, the resolution a fact for every office that got the raise.
    first_raise = name == RAISED and previous is None
    first_resolve = name == RESOLVED and previous != "resolved"
    if not (first_raise or first_resolve):
        return 0
    queued = await queue_deliveries(session, row, name, event_time, offices, batch)
    batch.queued += queued
    return queued


def _keep_ack(row: NotifierAlert, alert: AlertData, extra: Mapping[str, Any] | None) -> None:
    if row.acknowledged_at is None and alert.acknowledged_at is not None:
        row.acknowledged_at = clock.as_utc(alert.acknowledged_at)
        row.acknowledged_by = alert.acknowledged_by
        row.updated_at = clock.now()
    dismissed_at = (extra or {}).get("dismissed_at")
    if row.dismissed_at is None and isinstance(dismissed_at, str):
        row.dismissed_at = clock.as_utc(datetime.fromisoformat(dismissed_at))
        row.dismissed_by = str((extra or {}).get("dismissed_by") or "")[:128] or None
        row.dismissal_reason = str((extra or {}).get("dismissal_reason") or "")[:500] or None
        row.updated_at = clock.now()


async def queue_deliveries(
    session: AsyncSession,
    row: NotifierAlert,
    name: str,
    event_time: datetime,
    offices: Sequence[OfficeConfig],
    batch: AlertBatch | None = None,
) -> int:
    """One delivery row per office that covers the alert and takes webhooks."""
    targets = regulators.alert_recipients(
        row.division_code, row.kind, regulators.department_of(row.payload), offices
    )
    if not targets:
        return 0
    if batch is None:
        gone = await disabled_endpoints(session)
    else:
        if batch.disabled is None:
            batch.disabled = await disabled_endpoints(session)
        gone = batch.disabled
    data = alert_json(row)
    now = clock.now()
    rows: list[dict[str, Any]] = []
    for office in targets:
        event_id = str(uuid.uuid4())
        disabled = office.webhook_url is not None and gone.get(office.id) == office.webhook_url
        status = DeliveryStatus.DISABLED if disabled else DeliveryStatus.PENDING
        rows.append(
            {
                "event_id": event_id,
                "office_id": office.id,
                "alert_id": row.alert_id,
                "event_name": name,
                "body": cloudevent_body(event_id, name, row.alert_id, event_time, data),
                "status": status.value,
                "attempts": 0,
                "failures": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    # Core rows rather than ORM objects: they are only ever inserted here. In a consumer
    # batch they wait for one statement before the commit (notifier.consumers), in id order.
    if batch is not None:
        batch.deliveries.extend(rows)
    else:
        await session.execute(insert(_DELIVERIES), rows)
    return len(targets)


def cloudevent_body(
    event_id: str, name: str, alert_id: str, time: datetime, data: dict[str, Any]
) -> str:
    """The structured-mode CloudEvent of docs/interfaces.md §8, as the exact text we POST."""
    event = CloudEvent(
        attributes={
            "id": event_id,
            "source": WEBHOOK_SOURCE,
            "type": event_type(name),
            "subject": alert_id,
            "time": clock.as_utc(time),
            "datacontenttype": "application/json",
        },
        data=data,
    )
    return ce_http.to_structured(event, _FORMAT).body.decode()


async def disabled_endpoints(session: AsyncSession) -> dict[str, str]:
    """office id -> the webhook URL that was disabled (410 Gone or failing too long). A
    consumer batch reads it once (`AlertBatch.disabled`): it disables no endpoint."""
    query = select(Endpoint).where(col(Endpoint.disabled_at).is_not(None))
    with session.no_autoflush:
        rows = (await session.exec(query)).all()
    return {e.office_id: e.webhook_url for e in rows}
