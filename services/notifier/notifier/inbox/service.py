"""Reading and acting on the office inbox (docs/interfaces.md §7): list, read, acknowledge,
dismiss. Every query is limited to the caller's divisions."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.domain.divisions import CITY, is_known
from hub_shared.messaging.outbox import add_event
from hub_shared.web.auth import Principal
from hub_shared.web.errors import Conflict, NotFound, Unprocessable
from notifier.delivery import regulators
from notifier.inbox.alert_state import ACKNOWLEDGED, HUB_KINDS, alert_json
from notifier.tables import NotifierAlert


def visible(principal: Principal) -> ColumnElement[bool] | None:
    """What the caller may read, as a filter: its divisions (None for the whole city), and
    for a regulator only the alerts it receives by webhook too (its department's
    rectification_overdue, notifier.delivery.regulators)."""
    shown: list[ColumnElement[bool]] = []
    if CITY not in principal.divisions:
        shown.append(col(NotifierAlert.division_code).in_(principal.divisions))
    if principal.regulates is not None:
        shown.append(col(NotifierAlert.kind).in_(regulators.REGULATED_ALERTS))
        shown.append(col(NotifierAlert.department) == principal.regulates)
    return and_(*shown) if shown else None


def encode_cursor(row: NotifierAlert) -> str:
    raw = json.dumps([clock.as_utc(row.raised_at).isoformat(), row.alert_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        raised_at, alert_id = json.loads(raw)
        return clock.as_utc(datetime.fromisoformat(raised_at)), str(alert_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise Unprocessable(
            "the cursor is not one this API returned",
            [{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from exc


def check_division(principal: Principal, division_code: str) -> None:
    """422 for a code that is not Jining's, 403 for one outside the caller's divisions."""
    if not is_known(division_code):
        raise Unprocessable(
            f"{division_code} is not a Jining division code",
            [{"loc": ["query", "division_code"], "msg": "unknown division code"}],
        )
    principal.require_division(division_code)


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
    shown = visible(principal)
    if shown is not None:
        query = query.where(shown)
    if division_code is not None:
        check_division(principal, division_code)
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
    if row is None or not readable(principal, row):
        raise NotFound(f"no alert {alert_id}")
    return row


def readable(principal: Principal, row: NotifierAlert) -> bool:
    """`visible` for one row already read."""
    if not principal.covers(row.division_code):
        return False
    if principal.regulates is None:
        return True
    return row.kind in regulators.REGULATED_ALERTS and row.department == principal.regulates


def _publish(session: AsyncSession, row: NotifierAlert, data: dict[str, Any], source: str) -> None:
    # The notifier's own operational alerts stay in the notifier: alerts.v1 carries the
    # hub's kinds only, and its other readers would not know this one.
    if row.kind in HUB_KINDS:
        add_event(
            session, ACKNOWLEDGED, source=source, key=row.alert_id, data=data, subject=row.alert_id
        )


async def acknowledge(
    session: AsyncSession, *, principal: Principal, alert_id: str, source: str
) -> tuple[dict[str, Any], bool]:
    """Record who acknowledged the alert and publish `alert.acknowledged`, once.
    Returns the alert and whether this call acknowledged it."""
    row = await get_visible(session, principal=principal, alert_id=alert_id, for_update=True)
    if row.acknowledged_at is not None:
        return alert_json(row), False
    row.acknowledged_at = clock.now()
    row.acknowledged_by = principal.id
    row.updated_at = row.acknowledged_at
    session.add(row)
    data = alert_json(row)
    _publish(session, row, data, source)
    return data, True


async def dismiss(
    session: AsyncSession, *, principal: Principal, alert_id: str, reason: str, source: str
) -> tuple[dict[str, Any], bool]:
    """Close an open alert as not needing action, with the reason; published as
    `alert.acknowledged` with status `dismissed`. Dismissing it again changes nothing;
    a resolved alert cannot be dismissed (409)."""
    row = await get_visible(session, principal=principal, alert_id=alert_id, for_update=True)
    if row.status == "dismissed":
        return alert_json(row), False
    if row.status != "open":
        raise Conflict(f"alert {alert_id} is {row.status}; only an open alert can be dismissed")
    now = clock.now()
    row.status = "dismissed"
    row.dismissed_at, row.dismissed_by, row.dismissal_reason = now, principal.id, reason
    if row.acknowledged_at is None:  # dismissing is also taking notice
        row.acknowledged_at, row.acknowledged_by = now, principal.id
    row.updated_at = now
    session.add(row)
    data = alert_json(row)
    _publish(session, row, data, source)
    return data, True


async def changed_since(
    session: AsyncSession,
    *,
    principal: Principal,
    since: datetime,
    after: tuple[datetime, str] | None = None,
    limit: int = 500,
) -> list[NotifierAlert]:
    """The caller's alerts changed at or after `since` (and after the page key `after`:
    updated_at, alert_id), oldest change first."""
    query = select(NotifierAlert).where(col(NotifierAlert.updated_at) >= since)
    if after is not None:
        query = query.where(
            or_(
                col(NotifierAlert.updated_at) > after[0],
                and_(
                    col(NotifierAlert.updated_at) == after[0],
                    col(NotifierAlert.alert_id) > after[1],
                ),
            )
        )
    shown = visible(principal)
    if shown is not None:
        query = query.where(shown)
    query = query.order_by(col(NotifierAlert.updated_at), col(NotifierAlert.alert_id))
    return list((await session.exec(query.limit(limit))).all())
