"""What an alert says (its subject, reason and evidence), built from the facts alone, with
no I/O: the matcher's judge drafts every alert it raises here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from enrollment.matching.rules import Match, Policy, grace_text
from hub_shared.messaging.events import AlertKind, AlertSubject, Evidence


@dataclass(frozen=True)
class AlertDraft:
    kind: AlertKind
    subject_key: str
    division_code: str
    subject: AlertSubject
    reason: str
    evidence: list[Evidence]


# Protocols alike in shape to rules.py's, on purpose: each lists the fields its reader
# uses, so that a plain record or the matcher's fact serves.
class PermitView(Protocol):
    """What a permit alert names: the matcher's permit fact."""

    @property
    def permit_no(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def project_name(self) -> str: ...
    @property
    def division_code(self) -> str: ...
    @property
    def contractor_uscc(self) -> str: ...
    @property
    def contractor_name(self) -> str: ...


class FindingView(Protocol):
    @property
    def finding_id(self) -> str: ...
    @property
    def uscc(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def division_code(self) -> str: ...
    @property
    def found_on(self) -> date: ...
    @property
    def source_department(self) -> str: ...


class IncidentView(Protocol):
    @property
    def incident_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def employer_uscc(self) -> str: ...
    @property
    def employer_name(self) -> str: ...
    @property
    def occurred_on(self) -> date: ...
    @property
    def permit_no(self) -> str | None: ...
    @property
    def division_code(self) -> str: ...


def permit_alert(p: PermitView, policy: Policy) -> AlertDraft:
    return AlertDraft(
        kind="project_not_enrolled",
        subject_key=p.permit_no,
        division_code=p.division_code,
        subject=AlertSubject(
            uscc=p.contractor_uscc,
            name=p.contractor_name,
            permit_no=p.permit_no,
            project_name=p.project_name,
        ),
        reason=permit_reason(p.permit_no, grace_text(policy.grace_seconds)),
        evidence=[Evidence(type="permit.issued", id=p.event_id)],
    )


def permit_reason(permit_no: str, grace: str) -> str:
    """`grace`: the grace period in words (rules.grace_text)."""
    return f"施工许可证 {permit_no} 已发放 {grace}, 未找到按项目参保记录"


def finding_alert(f: FindingView, projects: list[str]) -> AlertDraft:
    """`projects`: the enterprise's permitted projects, listed so the office can act on them."""
    listed = f"; 其在建项目施工许可证: {', '.join(sorted(projects))}" if projects else ""
    return AlertDraft(
        kind="enterprise_uninsured",
        subject_key=f.uscc,
        division_code=f.division_code,
        subject=AlertSubject(uscc=f.uscc, name=f.name, finding_id=f.finding_id),
        reason=f"{f.source_department} 于 {f.found_on} 发现该单位未参加工伤保险{listed}",
        evidence=[Evidence(type="enterprise.uninsured", id=f.finding_id)]
        + [Evidence(type="permit.issued", id=p, detail="在建项目") for p in sorted(projects)],
    )


def incident_alert(i: IncidentView) -> AlertDraft:
    accident = i.kind == "accident"
    what = "生产安全事故" if accident else "职业病诊断"
    ids = {"report_id": i.incident_id} if accident else {"diagnosis_id": i.incident_id}
    return AlertDraft(
        kind="accident_uninsured_employer" if accident else "disease_uninsured_employer",
        subject_key=i.incident_id,
        division_code=i.division_code,
        subject=AlertSubject(
            uscc=i.employer_uscc, name=i.employer_name, permit_no=i.permit_no, **ids
        ),
        reason=f"{what} {i.incident_id} ({i.occurred_on}) 的用人单位当日无有效工伤保险参保记录",
        evidence=[
            Evidence(type="accident.reported" if accident else "disease.diagnosed", id=i.event_id)
        ],
    )


def incident_kind(i: IncidentView) -> AlertKind:
    return "accident_uninsured_employer" if i.kind == "accident" else "disease_uninsured_employer"


def match_evidence(m: Match) -> Evidence:
    """How the covering enrollment was found (identifier or name score), for the resolution."""
    return Evidence(
        type="enrollment.registered", id=m.enrollment_id, score=m.score, detail=m.explain()
    )
