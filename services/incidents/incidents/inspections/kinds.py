"""The code lists of joint inspections: finding kinds and the departments taking part."""

from __future__ import annotations

from typing import Final, Literal

FindingKind = Literal[
    "safety_hazard", "accident_precursor", "hazard_over_limit", "project_uninsured"
]
FINDING_KINDS_ZH: Final = {
    "safety_hazard": "安全隐患",
    "accident_precursor": "事故苗头",
    "hazard_over_limit": "职业病危害因素超标",
    "project_uninsured": "建设项目未参保",
}
# The uninsured kind also raises today's alert: it is published as `enterprise.uninsured`.
UNINSURED_KINDS: Final = frozenset({"project_uninsured"})

DEPARTMENTS_ZH: Final = {
    "hrss": "人力资源和社会保障局",
    "emergency": "应急管理局",
    "housing": "住房和城乡建设局",
    "health": "卫生健康委员会",
    "transport": "交通运输局",
    "industry": "工业和信息化局",
    "market": "市场监督管理局",
}
Department = Literal["hrss", "emergency", "housing", "health", "transport", "industry", "market"]
