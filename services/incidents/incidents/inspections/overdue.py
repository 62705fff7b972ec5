"""The `rectification_overdue` alert: raised once when an open finding passes its deadline,
resolved by its rectification. Both go to alerts.v1 through the outbox, in the transaction
that changes the finding, and reach the county office through the notifier as every alert.

The schedule is durable: `overdue_due` (the day after the deadline) is a column that the
scanner reads, so a restart misses nothing; the conditional update that clears it makes
the raise happen once even with several instances scanning.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Final

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.messaging.events import AlertData, AlertSubject, Evidence
from hub_shared.messaging.outbox import add_event
from hub_shared.storage.db import SessionFactory
from incidents.inspections.kinds import DEPARTMENTS_ZH, FINDING_KINDS_ZH
from incidents.inspections.tables import IncidentsInspectionFinding

log = logging.getLogger(__name__)
KIND: Final = "rectification_overdue"
_NAMESPACE: Final = uuid.UUID("6f3c7d0e-3b0a-4f55-9d8e-2b1d3c7e0a17")
BATCH: Final = 500


def alert_id_of(finding_id: str) -> str:
    """One alert per finding, the same id on every instance."""
    return str(uuid.uuid5(_NAMESPACE, f"{KIND}:{finding_id}"))


def _alert(finding: IncidentsInspectionFinding, raised_at: datetime) -> AlertData:
    kind_zh = FINDING_KINDS_ZH.get(finding.kind, finding.kind)
    department = DEPARTMENTS_ZH.get(finding.responsible_department, finding.responsible_department)
    return AlertData(
        alert_id=alert_id_of(finding.finding_id),
        kind=KIND,
        status="open",
        division_code=finding.division_code,
        # Alike in shape to intake's FindingData and enrollment's alert drafts: each event
        # names its own fields from its own record.
        subject=AlertSubject(
            uscc=finding.enterprise_uscc,
            name=finding.enterprise_name,
            permit_no=finding.permit_no,
            project_name=finding.project_name,
            finding_id=finding.finding_id,
            department=finding.responsible_department,
        ),
        reason=(
            f"联合检查发现的{kind_zh}逾期未整改: 整改期限 {finding.deadline.isoformat()}, "
            f"责任部门 {department}"
        ),
        evidence=(Evidence(type="inspection", id=finding.inspection_id, detail=finding.kind),),
        raised_at=raised_at,
    )


def _stage(session: AsyncSession, name: str, alert: AlertData, source: str) -> None:
    add_event(
        session,
        name,
        source=source,
        key=alert.alert_id,
        subject=alert.alert_id,
        data=alert.to_json(),
    )


def stage_resolved(session: AsyncSession, finding: IncidentsInspectionFinding, source: str) -> None:
    """`alert.resolved` for a rectified finding whose overdue alert was raised."""
    raised_at = clock.as_utc(finding.overdue_raised_at or clock.now())
    alert = _alert(finding, raised_at).model_copy(
        update={
            "status": "resolved",
            "resolved_at": clock.now(),
            "resolution": f"已整改 {finding.rectified_on}",
        }
    )
    _stage(session, "alert.resolved", alert, source)


async def raise_due(session: AsyncSession, *, today: date, source: str) -> int:
    """Raise the alerts of open findings past their deadline; how many were raised."""
    query = (
        select(IncidentsInspectionFinding)
        .where(col(IncidentsInspectionFinding.overdue_due) <= today)
        .limit(BATCH)
    )
    raised = 0
    for finding in (await session.exec(query)).all():
        now = clock.now()
        claimed = await session.execute(
            update(IncidentsInspectionFinding)
            .where(
                col(IncidentsInspectionFinding.finding_id) == finding.finding_id,
                col(IncidentsInspectionFinding.overdue_due).is_not(None),
                col(IncidentsInspectionFinding.rectified_on).is_(None),
            )
            .values(overdue_due=None, overdue_alert_id=alert_id_of(finding.finding_id),
                    overdue_raised_at=now)
        )  # fmt: skip
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            _stage(session, "alert.raised", _alert(finding, now), source)
            raised += 1
    return raised


def scanner(
    sessions: SessionFactory, *, source: str, interval: float, notify: Callable[[], None]
) -> Callable[[], Awaitable[None]]:
    """The background loop: raise due alerts, wake the relay, sleep when nothing was due."""

    async def scan() -> None:
        while True:
            async with sessions() as session, session.begin():
                raised = await raise_due(session, today=clock.today(), source=source)
            if raised:
                notify()
                log.info("inspections: raised %d rectification_overdue alert(s)", raised)
                continue
            await asyncio.sleep(interval)

    return scan
