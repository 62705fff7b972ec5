"""An alert draft as the live matcher and replay both build rows from."""

from __future__ import annotations

from datetime import UTC, datetime

from enrollment.matching.drafts import AlertDraft
from hub_shared.messaging.events import AlertSubject, Evidence

NOW = datetime(2026, 11, 29, 8, 30, 15, 123456, tzinfo=UTC)
DRAFT = AlertDraft(
    kind="project_not_enrolled",
    subject_key="3708112021031501",
    division_code="370811",
    subject=AlertSubject(
        uscc="91370812MA3L12T073",
        name="施工单位",
        permit_no="3708112021031501",
        project_name="济宁市某小区3#楼",
    ),
    reason="施工许可证 3708112021031501 已发放 24 小时, 未找到按项目参保记录",
    evidence=[Evidence(type="permit.issued", id="e-1")],
)
