"""Office endpoint health in the database: how long an endpoint has been failing without
a break, disabling it (410 Gone, or failing for `disable_after_seconds`) with an
operational alert to the city, and enabling it again."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.config import DeliveryConfig, OfficeConfig
from hub_shared.domain.divisions import CITY, name_of
from notifier.delivery.breaker import endpoint_failed
from notifier.delivery.store import PENDING, Outcome
from notifier.inbox.alert_state import (
    ENDPOINT_DISABLED,
    RAISED,
    RESOLVED,
    iso,
    queue_deliveries,
)
from notifier.tables import Delivery, DeliveryStatus, Endpoint, NotifierAlert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Disabled:
    office_id: str
    reason: str


async def load_endpoints(session: AsyncSession, urls: Mapping[str, str]) -> dict[str, Endpoint]:
    """office id -> its endpoint row, for rows about the URL the config names now."""
    rows = (await session.exec(select(Endpoint).where(col(Endpoint.office_id).in_(urls)))).all()
    return {e.office_id: e for e in rows if e.webhook_url == urls.get(e.office_id)}


async def track_health(
    session: AsyncSession,
    outcomes: Sequence[Outcome],
    *,
    offices: Sequence[OfficeConfig],
    delivery: DeliveryConfig,
    rows: dict[str, Endpoint] | None = None,
) -> list[Disabled]:
    """Move each endpoint's `failing_since` with the outcomes (in the order they finished);
    disable an endpoint that answered 410 or has failed for `disable_after_seconds`.
    `rows`: the endpoints as `load_endpoints` read them in this transaction (kept up to
    date here), or None to read them."""
    if not outcomes:
        return []
    by_id = {o.id: o for o in offices if o.webhook_url}
    urls = {o.id: o.webhook_url or "" for o in by_id.values()}
    if rows is None:
        rows = await load_endpoints(session, urls)
    now = clock.now()
    disabled: list[Disabled] = []
    for office_id in dict.fromkeys(o.delivery.office_id for o in outcomes):
        own = [o for o in outcomes if o.delivery.office_id == office_id]
        row = rows.get(office_id)
        if office_id not in by_id or (row is not None and row.disabled_at is not None):
            continue
        since = clock.as_utc(row.failing_since) if row and row.failing_since else None
        for o in own:
            if o.gone:
                continue
            since = (since or o.attempted_at) if endpoint_failed(o.status_code) else None
        gone = next((o for o in own if o.gone), None)
        reason: str | None = None
        if gone is not None:
            reason = f"410 Gone answering delivery {gone.delivery.event_id}"
        elif since is not None and (now - since).total_seconds() >= delivery.disable_after_seconds:
            reason = f"failing without a break since {since.isoformat()}"
        old = clock.as_utc(row.failing_since) if row and row.failing_since else None
        if reason is None and since == old:
            continue
        if row is None:
            row = rows[office_id] = await _fresh_endpoint(session, office_id, urls[office_id])
        row.failing_since = since
        session.add(row)
        if reason is not None:
            await disable(session, row, reason, now)
            await raise_endpoint_disabled(session, by_id[office_id], row, offices)
            disabled.append(Disabled(office_id, reason))
    return disabled


async def _fresh_endpoint(session: AsyncSession, office_id: str, url: str) -> Endpoint:
    """The office's row for a URL it had no row for: a new row, or the row of its old
    URL taken over (a new URL is a new endpoint: enabled, not failing)."""
    row = await session.get(Endpoint, office_id, with_for_update=True)
    if row is None:
        return Endpoint(office_id=office_id, webhook_url=url)
    row.webhook_url, row.disabled_at, row.disabled_reason, row.failing_since = url, None, None, None
    return row


async def disable(session: AsyncSession, row: Endpoint, reason: str, now: datetime) -> None:
    """Disable the endpoint and every delivery still pending for it (they are kept: an
    admin redelivery sends them)."""
    row.disabled_at, row.disabled_reason = now, reason[:500]
    session.add(row)
    await session.execute(
        update(Delivery)
        .where(col(Delivery.office_id) == row.office_id, col(Delivery.status) == PENDING)
        .values(status=DeliveryStatus.DISABLED.value, lease_until=None, leased_by=None)
    )
    log.warning("office %s: webhook endpoint disabled: %s", row.office_id, reason)


def _office_label(office: OfficeConfig) -> str:
    if office.name:
        return office.name
    return "、".join(name_of(d) for d in office.divisions) + "社保经办机构"


async def raise_endpoint_disabled(
    session: AsyncSession, office: OfficeConfig, row: Endpoint, offices: Sequence[OfficeConfig]
) -> None:
    """The operational alert (extension kind `delivery_endpoint_disabled`, division
    370800): the city's offices see it, and their webhooks carry it."""
    now = clock.now()
    since = clock.as_utc(row.failing_since) if row.failing_since else now
    hours = (now - since) / timedelta(hours=1)
    why = (
        "推送地址返回 410 Gone"
        if (row.disabled_reason or "").startswith("410")
        else f"推送连续失败 {hours:.1f} 小时"
    )
    alert = NotifierAlert(
        alert_id=str(uuid.uuid4()),
        kind=ENDPOINT_DISABLED,
        status="open",
        division_code=CITY,
        raised_at=now,
        event_time=now,
        payload="",
    )
    payload = {
        "alert_id": alert.alert_id,
        "kind": ENDPOINT_DISABLED,
        "status": "open",
        "division_code": CITY,
        "subject": {"office_id": office.id, "name": _office_label(office)},
        "reason": f"{_office_label(office)}的预警推送已停用: {why}; 待推送的预警已保留, "
        "修复后可由管理员重新推送",
        "evidence": [{"type": "endpoint.disabled", "id": office.id}],
        "raised_at": iso(now),
        "resolved_at": None,
        "resolution": None,
    }
    alert.payload = _dump(payload)
    session.add(alert)
    await session.flush()
    await queue_deliveries(session, alert, RAISED, now, offices)


async def enable(
    session: AsyncSession, office: OfficeConfig, offices: Sequence[OfficeConfig]
) -> bool:
    """Enable a disabled endpoint again and resolve its operational alerts. True when it
    was disabled."""
    row = await session.get(Endpoint, office.id, with_for_update=True)
    if row is None or row.disabled_at is None:
        return False
    row.disabled_at, row.disabled_reason, row.failing_since = None, None, None
    session.add(row)
    open_alerts = await session.exec(
        select(NotifierAlert).where(
            col(NotifierAlert.kind) == ENDPOINT_DISABLED, col(NotifierAlert.status) == "open"
        )
    )
    now = clock.now()
    for alert in open_alerts.all():
        data = _load(alert.payload)
        if data.get("subject", {}).get("office_id") != office.id:
            continue
        data.update(status="resolved", resolved_at=iso(now), resolution="endpoint.enabled")
        alert.status, alert.resolved_at, alert.updated_at = "resolved", now, now
        alert.payload = _dump(data)
        session.add(alert)
        await queue_deliveries(session, alert, RESOLVED, now, offices)
    return True


def _dump(data: Mapping[str, object]) -> str:
    return json.dumps(data, ensure_ascii=False)


def _load(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text)
    return loaded
