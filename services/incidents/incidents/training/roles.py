"""The plan's key personnel of a key-industry enterprise, by role."""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

Role = Literal["leader_in_charge", "safety_head", "team_leader"]
ROLES: Final[tuple[Role, ...]] = ("leader_in_charge", "safety_head", "team_leader")
ROLES_ZH: Final = {
    "leader_in_charge": "分管负责人",
    "safety_head": "安全管理部门主要负责人",
    "team_leader": "一线班组长",
}
TARGET_DAY: Final = date(2025, 12, 31)  # the plan: full coverage by the end of 2025
PLAN_START: Final = date(2021, 1, 1)  # completions before the plan do not count
