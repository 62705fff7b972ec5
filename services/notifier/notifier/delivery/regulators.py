"""Industry regulators as subscribers (e.g. 住建局 for construction): who receives what.

A configured subscriber is an office or a regulator (hub_shared.config.OfficeConfig.kind):
- an office gets every alert of its divisions, as before;
- a regulator gets the `rectification_overdue` alerts of its divisions whose finding its
  department owns (subject.department), and the permits of its divisions when it
  regulates construction (permits are construction permits);
both signed and retried like every office delivery (the same Delivery rows and worker).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Final

from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.config import OfficeConfig
from hub_shared.domain.divisions import covers_any, normalize_division
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.events import PermitData
from hub_shared.messaging.processed_events import Handler
from hub_shared.messaging.topics import event_type
from notifier.tables import Delivery, DeliveryStatus, table_of

log = logging.getLogger(__name__)
REGULATED_ALERTS: Final = frozenset({"rectification_overdue"})
PERMIT_EVENTS: Final = frozenset({"permit.issued", "permit.amended"})
PERMIT_INDUSTRY: Final = "construction"  # a construction permit's key industry
_FORMAT = JSONFormat()


def alert_recipients(
    division_code: str, kind: str, department: str | None, offices: Iterable[OfficeConfig]
) -> list[OfficeConfig]:
    """Subscribers with a webhook that get an alert: offices of the division, and the
    regulators of the division whose department owns the finding."""
    chosen = []
    for office in offices:
        if not office.webhook_url or not covers_any(office.divisions, division_code):
            continue
        owned = kind in REGULATED_ALERTS and department is not None
        if office.kind == "office" or (owned and department == office.department):
            chosen.append(office)
    return chosen


def permit_recipients(division_code: str, offices: Iterable[OfficeConfig]) -> list[OfficeConfig]:
    """Regulators of construction that see the permit's division."""
    return [
        o
        for o in offices
        if o.kind == "regulator"
        and o.webhook_url
        and PERMIT_INDUSTRY in o.industries
        and covers_any(o.divisions, division_code)
    ]


def department_of(payload: str) -> str | None:
    """subject.department of a stored alert's JSON."""
    subject = json.loads(payload).get("subject") or {}
    department = subject.get("department")
    return department if isinstance(department, str) else None


def _body(event_id: str, envelope: Envelope, data: dict[str, Any]) -> str:
    event = CloudEvent(
        attributes={
            "id": event_id,
            "source": envelope.source,
            "type": event_type(envelope.name),
            "subject": str(data["permit_no"]),
            "time": envelope.time,
            "datacontenttype": "application/json",
        },
        data=data,
    )
    return ce_http.to_structured(event, _FORMAT).body.decode()


def permits_handler(*, offices: Sequence[OfficeConfig]) -> Handler:
    """permits.v1 -> one delivery per regulator that sees the permit (inbox: once). The
    consumer wakes the delivery worker after the commit (`add_consumer(after_commit=)`)."""

    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        if envelope.name not in PERMIT_EVENTS:
            return
        permit = PermitData.model_validate(envelope.data)  # invalid -> dead-lettered
        division = normalize_division(permit.division_code)
        targets = permit_recipients(division, offices)
        if not targets:
            return
        data = permit.model_dump(mode="json")
        now = clock.now()
        rows = []
        for office in targets:
            event_id = str(uuid.uuid4())
            rows.append({
                "event_id": event_id, "office_id": office.id, "alert_id": permit.permit_no,
                "event_name": envelope.name, "body": _body(event_id, envelope, data),
                "status": DeliveryStatus.PENDING.value, "attempts": 0, "failures": 0,
                "next_attempt_at": now, "created_at": now,
            })  # fmt: skip
        await session.execute(insert(table_of(Delivery)), rows)

    return handle
