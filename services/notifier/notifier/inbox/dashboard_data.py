"""What the office dashboard shows, as plain data: Chinese labels, local times, chart
series. Every query is limited to the caller's divisions (notifier.inbox.service.visible)."""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.domain.divisions import CITY, DIVISIONS, county_codes
from hub_shared.web.auth import Principal
from notifier.inbox.alert_state import ENDPOINT_DISABLED, HUB_KINDS
from notifier.inbox.service import visible
from notifier.tables import NotifierAlert

KIND_ZH = {
    "project_not_enrolled": "项目未按项目参保",
    "accident_uninsured_employer": "事故单位未参保",
    "disease_uninsured_employer": "职业病单位未参保",
    "enterprise_uninsured": "企业未参保",
    "rectification_overdue": "检查问题逾期未整改",
    "training_gap": "重点人员培训未全覆盖",
    ENDPOINT_DISABLED: "推送地址已停用",
}
STATUS_ZH = {"open": "未处理", "resolved": "已解决", "dismissed": "已忽略"}
DELIVERY_ZH = {
    "pending": "待推送",
    "delivered": "已送达",
    "exhausted": "重试用尽",
    "disabled": "地址已停用",
}
# Time to resolution, in buckets an office reads at a glance.
RESOLUTION_BUCKETS: tuple[tuple[str, float], ...] = (
    ("1小时内", 1),
    ("1–6小时", 6),
    ("6–24小时", 24),
    ("1–3天", 72),
    ("3–7天", 168),
    ("7天以上", float("inf")),
)


def local_time(value: str | datetime | None) -> str:
    """An ISO time (or datetime) as Beijing time, to the second."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return clock.in_beijing(clock.as_utc(moment)).strftime("%Y-%m-%d %H:%M:%S")


def division_zh(code: str | None) -> str:
    return DIVISIONS.get(code or "", code or "")


def divisions_of(principal: Principal) -> list[str]:
    """The counties a principal may filter by (the whole city for a city office)."""
    if CITY in principal.divisions:
        return list(county_codes())
    return [d for d in principal.divisions if d in DIVISIONS]


def kinds_of(principal: Principal) -> list[str]:
    """Kinds a principal can meet: the operational kind only where the city is covered."""
    kinds = sorted(HUB_KINDS)
    return [*kinds, ENDPOINT_DISABLED] if CITY in principal.divisions else kinds


async def chart_data(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    """Open alerts per county and kind (stacked bars), and time to resolution."""
    shown = visible(principal)
    counts = select(NotifierAlert.division_code, NotifierAlert.kind, func.count()).where(
        col(NotifierAlert.status) == "open"
    )
    if shown is not None:
        counts = counts.where(shown)
    counts = counts.group_by(col(NotifierAlert.division_code), col(NotifierAlert.kind))
    table: dict[tuple[str, str], int] = {
        (d, k): int(n) for d, k, n in (await session.exec(counts)).all()
    }
    codes = divisions_of(principal)
    if any(d == CITY for d, _ in table):
        codes = [*codes, CITY]
    kinds = [k for k in kinds_of(principal) if any(kind == k for _, kind in table)]
    resolved = select(NotifierAlert.raised_at, NotifierAlert.resolved_at).where(
        col(NotifierAlert.resolved_at).is_not(None)
    )
    if shown is not None:
        resolved = resolved.where(shown)
    resolved = resolved.order_by(col(NotifierAlert.resolved_at).desc()).limit(5000)
    hours = [
        (clock.as_utc(done) - clock.as_utc(raised)).total_seconds() / 3600
        for raised, done in (await session.exec(resolved)).all()
        if done is not None
    ]
    buckets = [0] * len(RESOLUTION_BUCKETS)
    for h in hours:
        index = next(i for i, (_label, limit) in enumerate(RESOLUTION_BUCKETS) if h < limit)
        buckets[index] += 1
    return {
        "open": {
            "counties": [division_zh(c) for c in codes],
            "series": [
                {"name": KIND_ZH.get(k, k), "data": [table.get((c, k), 0) for c in codes]}
                for k in kinds
            ],
            "total": sum(table.values()),
        },
        "resolution": {
            "buckets": [label for label, _limit in RESOLUTION_BUCKETS],
            "counts": buckets,
            "resolved": len(hours),
            "median_hours": round(statistics.median(hours), 1) if hours else None,
        },
    }
