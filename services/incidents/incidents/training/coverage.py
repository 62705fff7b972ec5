"""Training coverage of key personnel, as pure functions over plain data.

Definitions (docs/plan-goals.md):
- key personnel = roster rows (one person in one role of one enterprise) of enterprises in a
  key industry, listed on or before the report day; a person in two roles counts in both;
- a roster row is trained when a completion with the same keyed digest of the ID number
  is dated from 2021-01-01 (the plan's start) to the report day, whatever the order in
  which the roster row and the completion arrived;
- coverage = trained ÷ key personnel (null when there are none); gap = key personnel −
  trained, the people still to train by 2025-12-31;
- an enterprise counts in its division and in every key-industry row of its industry code;
  totals count each roster row once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from hub_shared.domain import divisions
from hub_shared.domain.industries import KEY_INDUSTRIES
from incidents.reports.key_industries import key_industries, named_rows
from incidents.training.roles import PLAN_START, ROLES, ROLES_ZH, TARGET_DAY

NOTES: Final[tuple[str, ...]] = (
    "重点人员: 重点行业企业登记的分管负责人、安全管理部门主要负责人、一线班组长, "
    "按登记日期计入; 一人兼两职分别计数。",
    "已培训: 2021 年 1 月 1 日起至统计日有培训记录(按身份证号密钥摘要匹配, "
    "与登记和培训记录到达的先后无关)。",
    "覆盖率 = 已培训人数 ÷ 重点人员数; 差距 = 重点人员数 − 已培训人数, "
    "须在 2025 年 12 月 31 日前补齐。",
    "企业按行业代码计入重点行业, 按行政区划计入县(市、区); 合计每人每职只计一次。",
)


@dataclass(frozen=True)
class RosterFact:
    enterprise_uscc: str
    enterprise_name: str
    division_code: str
    industry_code: str
    role: str
    person_digest: str
    listed_on: date


def trained_digests(completions: Iterable[tuple[str, date]], as_of: date) -> set[str]:
    """Digests of the people with a completion from the plan's start up to `as_of`."""
    return {digest for digest, day in completions if PLAN_START <= day <= as_of}


def _coverage(trained: int, personnel: int) -> float | None:
    return None if personnel == 0 else round(trained / personnel, 4)


@dataclass
class Count:
    personnel: int = 0
    trained: int = 0
    by_role: dict[str, list[int]] = field(default_factory=lambda: {r: [0, 0] for r in ROLES})

    def add(self, role: str, trained: bool) -> None:
        self.personnel += 1
        self.trained += trained
        pair = self.by_role.setdefault(role, [0, 0])
        pair[0] += 1
        pair[1] += trained

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_personnel": self.personnel,
            "trained": self.trained,
            "coverage": _coverage(self.trained, self.personnel),
            "gap": self.personnel - self.trained,
            "roles": [
                {
                    "role": role,
                    "role_zh": ROLES_ZH.get(role, role),
                    "key_personnel": n,
                    "trained": t,
                    "coverage": _coverage(t, n),
                    "gap": n - t,
                }
                for role, (n, t) in self.by_role.items()
            ],
        }


@dataclass(frozen=True)
class EnterpriseGap:
    uscc: str
    name: str
    division_code: str
    untrained: dict[str, int]  # role -> untrained people

    def as_dict(self) -> dict[str, Any]:
        return {
            "uscc": self.uscc,
            "name": self.name,
            "division_code": self.division_code,
            "division_name": divisions.name_of(self.division_code),
            "untrained": [
                {"role": role, "role_zh": ROLES_ZH.get(role, role), "people": n}
                for role, n in self.untrained.items()
            ],
        }


@dataclass
class CoverageReport:
    division_code: str
    as_of: date
    rows: dict[str, Count]
    total: Count
    counties: dict[str, Count]
    enterprises: list[EnterpriseGap]

    def as_dict(self) -> dict[str, Any]:
        return {
            "division_code": self.division_code,
            "division_name": divisions.name_of(self.division_code),
            "as_of": self.as_of.isoformat(),
            "target_day": TARGET_DAY.isoformat(),
            "days_to_target": (TARGET_DAY - self.as_of).days,
            **named_rows(self.rows, self.total, self.counties),
            "enterprises_with_gaps": [gap.as_dict() for gap in self.enterprises],
            "notes": list(NOTES),
        }


def coverage_report(
    *,
    division_code: str,
    as_of: date,
    roster: Iterable[RosterFact],
    trained: set[str],
    counties: Sequence[str],
) -> CoverageReport:
    """Coverage of a division's key personnel on `as_of`; `trained` from trained_digests."""
    report = CoverageReport(
        division_code,
        as_of,
        rows={k.key: Count() for k in KEY_INDUSTRIES},
        total=Count(),
        counties={code: Count() for code in counties},
        enterprises=[],
    )
    gaps: dict[str, EnterpriseGap] = {}
    for row in roster:
        keys = key_industries(row.industry_code)
        if not keys or row.listed_on > as_of:
            continue
        if not divisions.covers(division_code, row.division_code):
            continue
        done = row.person_digest in trained
        counts = [report.rows[key] for key in keys] + [report.total]
        if row.division_code in report.counties:
            counts.append(report.counties[row.division_code])
        for count in counts:
            count.add(row.role, done)
        if not done:
            gap = gaps.setdefault(
                row.enterprise_uscc,
                EnterpriseGap(row.enterprise_uscc, row.enterprise_name, row.division_code, {}),
            )
            gap.untrained[row.role] = gap.untrained.get(row.role, 0) + 1
    report.enterprises = sorted(gaps.values(), key=lambda g: (g.division_code, g.name, g.uscc))
    return report
