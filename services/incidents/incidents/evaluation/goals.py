"""The three goals of the plan side by side, as pure functions over the other reports.

Definitions (docs/plan-goals.md):
- goal 1, accident rate: the key-industry total rate of the year against the trend's
  target (2020 baseline falling linearly to 80 % of it in 2025); met when at or below it;
- goal 2, occupational disease: the incidence per 100,000 insured employees, and that of
  pneumoconiosis, against 2020; met when below the baseline ("falling");
- goal 3, training: coverage of key personnel at the end of the year against a target
  rising linearly from 0 at the end of 2020 to 100 % at the end of 2025 (a local reading:
  the plan sets only the 2025 end point); met when at or above it.
Unknown (null) when a figure or its baseline cannot be computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from hub_shared.domain import divisions
from incidents.reports.trends import BASELINE_YEAR, TARGET_YEAR

Period = Literal["midterm", "final"]
PERIOD_YEARS: Final = {"midterm": 2023, "final": 2025}
PERIOD_ZH: Final = {"midterm": "中期评估", "final": "总结评估"}

DEFINITIONS: Final[tuple[tuple[str, str], ...]] = (
    ("目标一 工伤事故发生率",
     "重点行业合计: 工伤事故数 ÷ 参加工伤保险人数 × 1000(‰); 目标为 2020 年基期按直线递减,"
     " 2025 年为基期的 80%; 不高于当年目标为达标。"),
    ("目标二 职业病发生率",
     "每 10 万参保职工的职业病新发病例(同一人只计第一次诊断), 尘肺病单列;"
     " 低于 2020 年基期(下降)为达标。"),
    ("目标三 重点人员培训覆盖率",
     "已培训重点人员 ÷ 重点人员(分管负责人、安全管理部门主要负责人、一线班组长);"
     " 目标自 2020 年底的 0 按直线增至 2025 年底的 100%, 不低于当年目标为达标。"),
)  # fmt: skip


def coverage_target(year: int) -> float:
    """The training coverage a year should reach (1.0 from 2025 on)."""
    span = TARGET_YEAR - BASELINE_YEAR
    return round(min(max(year - BASELINE_YEAR, 0), span) / span, 4)


def _at_most(value: float | None, target: float | None) -> bool | None:
    return None if value is None or target is None else value <= target


def _below(value: float | None, baseline: float | None) -> bool | None:
    return None if value is None or baseline is None else value < baseline


@dataclass(frozen=True)
class GoalRow:
    """One division's three goals in one year."""

    division_code: str
    accident_rate: float | None
    accident_baseline: float | None
    accident_target: float | None
    incidence: float | None
    incidence_baseline: float | None
    pneumoconiosis: float | None
    pneumoconiosis_baseline: float | None
    coverage: float | None
    coverage_target: float
    untrained: int

    def as_dict(self) -> dict[str, Any]:
        coverage_met = None if self.coverage is None else self.coverage >= self.coverage_target
        return {
            "division_code": self.division_code,
            "division_name": divisions.name_of(self.division_code),
            "accident_rate_per_1000": self.accident_rate,
            "accident_baseline_per_1000": self.accident_baseline,
            "accident_target_per_1000": self.accident_target,
            "accident_goal_met": _at_most(self.accident_rate, self.accident_target),
            "incidence_per_100k": self.incidence,
            "incidence_baseline_per_100k": self.incidence_baseline,
            "incidence_goal_met": _below(self.incidence, self.incidence_baseline),
            "pneumoconiosis_per_100k": self.pneumoconiosis,
            "pneumoconiosis_baseline_per_100k": self.pneumoconiosis_baseline,
            "pneumoconiosis_goal_met": _below(self.pneumoconiosis, self.pneumoconiosis_baseline),
            "training_coverage": self.coverage,
            "training_coverage_target": self.coverage_target,
            "training_goal_met": coverage_met,
            "untrained_key_personnel": self.untrained,
        }
