"""The office inbox: apply alert events, queue their webhooks, list, read and acknowledge."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.auth import Principal
from hub_shared.config import OfficeConfig
from hub_shared.divisions import CITY, is_known
from hub_shared.errors import NotFound, Unprocessable
from hub_shared.events import AlertData
from hub_shared.outbox import add_event
from hub_shared.topics import event_type
from notifier.models import Delivery, DeliveryStatus, Endpoint, NotifierAlert
from notifier.schedule import aware, is_older, status_rank, webhook_offices_for

RAISED, RESOLVED, ACKNOWLEDGED = "alert.raised", "alert.resolved", "alert.acknowledged"
ALERT_EVENTS = frozenset({RAISED, RESOLVED, ACKNOWLEDGED})
WEBHOOK_SOURCE = "/hub/enrollment"  # CONTRACTS.md §8 fixes the source of office webhooks
_FORMAT = JSONFormat()


def alert_json(row: NotifierAlert) -> dict[str, Any]:
    """The alert in the shape of CONTRACTS.md §7, plus who acknowledged it and when."""
    alert = AlertData.model_validate_json(row.payload).model_copy(
        update={"acknowledged_at": row.acknowledged_at, "acknowledged_by": row.acknowledged_by}
    )
    return alert.to_json()


async def apply_alert_event(
    session: AsyncSession,
    *,
    name: str,
    alert: AlertData,
    event_time: datetime,
    offices: Sequence[OfficeConfig],
) -> int:
    """Keep the alert's latest state; queue webhooks when it was raised or resolved.
    Returns how many deliveries were queued."""
    event_time = aware(event_time)
    row = await session.get(NotifierAlert, alert.alert_id, with_for_update=True)
    if row is not None and is_older(
        incoming_status=alert.status,
        incoming_time=event_time,
        stored_status=row.status,
        stored_time=row.event_time,
    ):
        _keep_ack(row, alert)  # a late event may still carry an ack we have not seen
        return 0
    previous = row.status if row is not None else None
    if row is None:
        row = NotifierAlert(
            alert_id=alert.alert_id,
            kind=alert.kind,
            status=alert.status,
            division_code=alert.division_code,
            raised_at=aware(alert.raised_at),
            event_time=event_time,
            payload="",
        )
    row.kind, row.status, row.division_code = alert.kind, alert.status, alert.division_code
    row.raised_at, row.event_time = aware(alert.raised_at), event_time
    row.payload = alert.model_dump_json(exclude={"acknowledged_at", "acknowledged_by"})
    row.updated_at = datetime.now(UTC)
    _keep_ack(row, alert)
    session.add(row)
    # One webhook per transition: a second `raised` of a known alert, or a `resolved` of
    # an alert already resolved, changes the state but tells the offices nothing new.
    first_raise = name == RAISED and previous is None
    first_resolve = name == RESOLVED and (previous is None or status_rank(previous) == 0)
    if not (first_raise or first_resolve):
        return 0
    return await _queue_deliveries(session, row, name, event_time, offices)


def _keep_ack(row: NotifierAlert, alert: AlertData) -> None:
    if row.acknowledged_at is None and alert.acknowledged_at is not None:
        row.acknowledged_at = aware(alert.acknowledged_at)
        row.acknowledged_by = alert.acknowledged_by
        row.updated_at = datetime.now(UTC)


async def _queue_deliveries(
    session: AsyncSession,
    row: NotifierAlert,
    name: str,
    event_time: datetime,
    offices: Sequence[OfficeConfig],
) -> int:
    targets = webhook_offices_for(row.division_code, offices)
    if not targets:
        return 0
    gone = await disabled_endpoints(session)
    data = alert_json(row)
    for office in targets:
        event_id = str(uuid.uuid4())
        disabled = office.webhook_url is not None and gone.get(office.id) == office.webhook_url
        session.add(
            Delivery(
                event_id=event_id,
                office_id=office.id,
                alert_id=row.alert_id,
                event_name=name,
                body=cloudevent_body(event_id, name, row.alert_id, event_time, data),
                status=(DeliveryStatus.DISABLED if disabled else DeliveryStatus.PENDING).value,
                next_attempt_at=datetime.now(UTC),
            )
        )
    return len(targets)


def cloudevent_body(
    event_id: str, name: str, alert_id: str, time: datetime, data: dict[str, Any]
) -> str:
    """The structured-mode CloudEvent of CONTRACTS.md §8, as the exact text we POST."""
    event = CloudEvent(
        attributes={
            "id": event_id,
            "source": WEBHOOK_SOURCE,
            "type": event_type(name),
            "subject": alert_id,
            "time": aware(time),
            "datacontenttype": "application/json",
        },
        data=data,
    )
    return ce_http.to_structured(event, _FORMAT).body.decode()


async def disabled_endpoints(session: AsyncSession) -> dict[str, str]:
    """office id -> the webhook URL that answered 410 Gone."""
    query = select(Endpoint).where(col(Endpoint.disabled_at).is_not(None))
    return {e.office_id: e.webhook_url for e in (await session.exec(query)).all()}


# --- reading and acknowledging (office REST) ---


def _visible(principal: Principal) -> ColumnElement[bool] | None:
    """The caller's divisions as a filter; None when it sees the whole city."""
    if CITY in principal.divisions:
        return None
    return col(NotifierAlert.division_code).in_(principal.divisions)


def encode_cursor(row: NotifierAlert) -> str:
    raw = json.dumps([aware(row.raised_at).isoformat(), row.alert_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        raised_at, alert_id = json.loads(raw)
        return aware(datetime.fromisoformat(raised_at)), str(alert_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise Unprocessable(
            "the cursor is not one this API returned",
            [{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from exc


async def list_alerts(
    session: AsyncSession,
    *,
    principal: Principal,
    status: str | None = None,
    kind: str | None = None,
    division_code: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """One page of the caller's alerts, newest first (raised_at, then alert_id)."""
    query = select(NotifierAlert)
    visible = _visible(principal)
    if visible is not None:
        query = query.where(visible)
    if division_code is not None:
        if not is_known(division_code):
            raise Unprocessable(
                f"{division_code} is not a Jining division code",
                [{"loc": ["query", "division_code"], "msg": "unknown division code"}],
            )
        principal.require_division(division_code)
        if division_code != CITY:
            query = query.where(col(NotifierAlert.division_code) == division_code)
    if status is not None:
        query = query.where(col(NotifierAlert.status) == status)
    if kind is not None:
        query = query.where(col(NotifierAlert.kind) == kind)
    if cursor is not None:
        raised_at, alert_id = decode_cursor(cursor)
        query = query.where(
            or_(
                col(NotifierAlert.raised_at) < raised_at,
                and_(
                    col(NotifierAlert.raised_at) == raised_at,
                    col(NotifierAlert.alert_id) < alert_id,
                ),
            )
        )
    query = query.order_by(
        col(NotifierAlert.raised_at).desc(), col(NotifierAlert.alert_id).desc()
    ).limit(limit + 1)
    rows = list((await session.exec(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [alert_json(r) for r in rows],
        "next_cursor": encode_cursor(rows[-1]) if more else None,
    }


async def get_visible(
    session: AsyncSession, *, principal: Principal, alert_id: str, for_update: bool = False
) -> NotifierAlert:
    """The alert if the caller may see it; 404 otherwise, so ids outside it do not leak."""
    row = await session.get(NotifierAlert, alert_id, with_for_update=for_update)
    if row is None or not principal.covers(row.division_code):
        raise NotFound(f"no alert {alert_id}")
    return row


async def acknowledge(
    session: AsyncSession, *, principal: Principal, alert_id: str, source: str
) -> tuple[dict[str, Any], bool]:
    """Record who acknowledged the alert and publish `alert.acknowledged`, once.
    Returns the alert and whether this call acknowledged it."""
    row = await get_visible(session, principal=principal, alert_id=alert_id, for_update=True)
    if row.acknowledged_at is not None:
        return alert_json(row), False
    row.acknowledged_at = datetime.now(UTC)
    row.acknowledged_by = principal.id
    row.updated_at = row.acknowledged_at
    session.add(row)
    data = alert_json(row)
    add_event(session, ACKNOWLEDGED, source=source, key=alert_id, data=data, subject=alert_id)
    return data, True
