"""The `training_gap` alert: on the configured day of each year (default 1 October), every
key-industry enterprise whose key personnel are not all trained gets one alert to its
county office; it resolves when the enterprise's coverage reaches 100 %.

Both go to alerts.v1 through the outbox, in the transaction that records the gap in
`incidents_training_gaps` (one row per enterprise, its primary key): a restart or a second
instance raises nothing twice.
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
from hub_shared.messaging.events import AlertData, AlertSubject
from hub_shared.messaging.outbox import add_event
from hub_shared.storage.db import SessionFactory
from incidents.training.coverage import EnterpriseGap
from incidents.training.data import read
from incidents.training.roles import ROLES_ZH
from incidents.training.tables import IncidentsTrainingGap

log = logging.getLogger(__name__)
KIND: Final = "training_gap"
_NAMESPACE: Final = uuid.UUID("0b7f4a52-8d1e-4b8c-a0a4-6a8f1d2c9e31")


def alert_day(year: int, month_day: str) -> date:
    month, day = (int(part) for part in month_day.split("-"))
    return date(year, month, day)


def alert_id_of(uscc: str, year: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{KIND}:{uscc}:{year}"))


def _alert(gap: EnterpriseGap, alert_id: str, raised_at: datetime) -> AlertData:
    missing = "、".join(f"{ROLES_ZH.get(role, role)} {n} 人" for role, n in gap.untrained.items())
    return AlertData(
        alert_id=alert_id,
        kind=KIND,
        status="open",
        division_code=gap.division_code,
        subject=AlertSubject(uscc=gap.uscc, name=gap.name),
        reason=f"重点人员工伤预防培训未全覆盖: 未培训 {missing}; 须在 2025 年底前实现全覆盖",
        raised_at=raised_at,
    )


def _stage(session: AsyncSession, name: str, alert: AlertData, source: str) -> None:
    add_event(
        session, name, source=source, key=alert.alert_id, subject=alert.alert_id,
        data=alert.to_json(),
    )  # fmt: skip


async def judge(session: AsyncSession, *, today: date, month_day: str, source: str) -> int:
    """Raise the year's gaps once the alert day has come; resolve closed gaps. How many
    alert events were staged."""
    facts = await read(session)
    coverage = facts.report("370800", today)
    open_gaps = {g.uscc: g for g in coverage.enterprises}
    rows = {r.enterprise_uscc: r for r in (await session.exec(select(IncidentsTrainingGap))).all()}
    staged, now = 0, clock.now()
    day = alert_day(today.year, month_day)
    for uscc, row in rows.items():
        if row.resolved_at is None and uscc not in open_gaps:
            claimed = await session.execute(
                update(IncidentsTrainingGap)
                .where(col(IncidentsTrainingGap.enterprise_uscc) == uscc,
                       col(IncidentsTrainingGap.resolved_at).is_(None))
                .values(resolved_at=now)
            )  # fmt: skip
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                names = next((r for r in facts.roster if r.enterprise_uscc == uscc), None)
                gap = EnterpriseGap(
                    uscc, names.enterprise_name if names else "", row.division_code, {}
                )
                alert = _alert(gap, row.alert_id, clock.as_utc(row.raised_at)).model_copy(
                    update={"status": "resolved", "resolved_at": now,
                            "resolution": "重点人员已全部培训"}
                )  # fmt: skip
                _stage(session, "alert.resolved", alert, source)
                staged += 1
    if today < day:
        return staged
    for uscc, gap in open_gaps.items():
        known = rows.get(uscc)
        if known is not None and (known.resolved_at is None or known.raised_on >= day):
            continue  # still open, or this year's alert was raised already
        alert_id = alert_id_of(uscc, today.year)
        if known is None:
            session.add(IncidentsTrainingGap(enterprise_uscc=uscc, alert_id=alert_id,
                                             division_code=gap.division_code, raised_on=today,
                                             raised_at=now))  # fmt: skip
        else:
            claimed = await session.execute(
                update(IncidentsTrainingGap)
                .where(col(IncidentsTrainingGap.enterprise_uscc) == uscc,
                       col(IncidentsTrainingGap.raised_on) < day)
                .values(alert_id=alert_id, raised_on=today, raised_at=now, resolved_at=None)
            )  # fmt: skip
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
        _stage(session, "alert.raised", _alert(gap, alert_id, now), source)
        staged += 1
    return staged


def scanner(
    sessions: SessionFactory,
    *,
    source: str,
    month_day: str,
    interval: float,
    notify: Callable[[], None],
) -> Callable[[], Awaitable[None]]:
    """The background loop of the training_gap alert."""

    async def scan() -> None:
        while True:
            async with sessions() as session, session.begin():
                staged = await judge(
                    session, today=clock.today(), month_day=month_day, source=source
                )
            if staged:
                notify()
                log.info("training: staged %d training_gap alert event(s)", staged)
            await asyncio.sleep(interval)

    return scan
