"""The batch form of the matcher, for replay: fold a whole event log into its final state,
judge every subject once with the same rules and alert drafts as the live matcher, and
write everything in bulk. Same events, any order, any duplicates: same final state."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment import alerts
from enrollment.drafts import (
    AlertDraft,
    finding_alert,
    incident_alert,
    match_evidence,
    permit_alert,
)
from enrollment.matcher import facts, permit_facts
from enrollment.models import Alert, Enrollment, Enterprise, Finding, Incident, WatchedPermit
from enrollment.names import name_key
from enrollment.rules import EnrollmentFacts, Policy, employer_coverage, permit_coverage
from hub_shared.envelope import Envelope
from hub_shared.events import (
    AccidentData,
    DiseaseData,
    EnrollmentData,
    EnterpriseData,
    FindingData,
    PermitData,
)
from hub_shared.inbox import ProcessedEvent
from hub_shared.outbox import OutboxMessage
from hub_shared.topics import event_type, topic_of


@dataclass
class FinalState:
    """What the log says in the end, whatever order it was read in."""

    enterprises: dict[str, EnterpriseData] = field(default_factory=dict)
    enrollments: dict[str, EnrollmentData] = field(default_factory=dict)
    permits: dict[str, tuple[PermitData, str]] = field(default_factory=dict)
    findings: dict[str, FindingData] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    applied: dict[str, str] = field(default_factory=dict)  # event id -> topic

    def add(self, topic: str, e: Envelope) -> None:
        if e.id in self.applied:
            return
        self.applied[e.id] = topic
        name = e.name
        if name.startswith("enterprise.") and name != "enterprise.uninsured":
            self.enterprises[e.data["uscc"]] = EnterpriseData.model_validate(e.data)
        elif name.startswith("enrollment."):
            data = EnrollmentData.model_validate(e.data)
            known = self.enrollments.get(data.enrollment_id)
            if known is None or (data.terminated_on and not known.terminated_on):
                self.enrollments[data.enrollment_id] = data  # a termination is never undone
        elif name.startswith("permit."):
            permit = PermitData.model_validate(e.data)
            known_permit = self.permits.get(permit.permit_no)
            first_id = e.id if permit.revision == 1 or known_permit is None else known_permit[1]
            if known_permit is None or permit.revision >= known_permit[0].revision:
                self.permits[permit.permit_no] = (permit, first_id)
            elif permit.revision == 1:
                self.permits[permit.permit_no] = (known_permit[0], e.id)
        elif name == "enterprise.uninsured":
            finding = FindingData.model_validate(e.data)
            self.findings.setdefault(finding.finding_id, finding)
        elif name in ("accident.reported", "disease.diagnosed"):
            self._incident(e)

    def _incident(self, e: Envelope) -> None:
        if e.name == "accident.reported":
            a = AccidentData.model_validate(e.data)
            row = Incident(incident_id=a.report_id, kind="accident", event_id=e.id,
                           employer_uscc=a.employer.uscc, employer_name=a.employer.name,
                           occurred_on=a.occurred_at.date(), permit_no=a.permit_no,
                           division_code=a.division_code)  # fmt: skip
        else:
            d = DiseaseData.model_validate(e.data)
            row = Incident(incident_id=d.diagnosis_id, kind="disease", event_id=e.id,
                           employer_uscc=d.employer.uscc, employer_name=d.employer.name,
                           occurred_on=d.diagnosed_on, division_code=d.division_code)  # fmt: skip
        self.incidents.setdefault(row.incident_id, row)


@dataclass
class Judged:
    rows: dict[type[SQLModel], list[SQLModel]] = field(default_factory=lambda: defaultdict(list))
    staged: list[tuple[str, Alert]] = field(default_factory=list)  # (event name, alert)


def judge(state: FinalState, loaded: list[Alert], policy: Policy, now: datetime) -> Judged:
    """Every subject judged once; alerts already published are kept, none raised twice."""
    out = Judged()
    today = now.date()
    enrollments = [_enrollment_row(d) for d in state.enrollments.values()]
    all_facts = [facts(e) for e in enrollments]
    by_key: dict[str, list[EnrollmentFacts]] = defaultdict(list)
    for f in all_facts:
        for key in {f.permit_no, f.project_code, f.employer_uscc} - {None}:
            by_key[f"{f.kind}:{key}"].append(f)
    open_alerts = {(a.kind, a.subject_key): a for a in loaded if a.status == "open"}

    def decide(draft: AlertDraft, covered_by: str | None, evidence: list[Any]) -> None:
        current = open_alerts.get((draft.kind, draft.subject_key))
        if covered_by and current is not None:
            alerts.resolved(current, covered_by, evidence)
            out.staged.append(("alert.resolved", current))
            del open_alerts[(draft.kind, draft.subject_key)]
        elif not covered_by and current is None:
            alert = alerts.new_alert(draft, now)
            loaded.append(alert)
            open_alerts[(draft.kind, draft.subject_key)] = alert
            out.staged.append(("alert.raised", alert))

    permits = {n: _permit_row(d, first, policy, now) for n, (d, first) in state.permits.items()}
    for p in permits.values():
        if p.checked_at is None:
            continue
        pf = permit_facts(p)
        keys = {pf.permit_no, pf.project_code, pf.contractor_uscc} - {None}
        candidates = list({id(f): f for k in keys for f in by_key[f"project:{k}"]}.values())
        matches = permit_coverage(candidates, pf, today, policy.name_threshold)
        if matches:
            decide(permit_alert(p, policy), matches[0].enrollment_id, [match_evidence(matches[0])])
        else:
            decide(permit_alert(p, policy), None, [])
    projects: dict[str, list[str]] = defaultdict(list)
    for p in permits.values():
        projects[p.contractor_uscc].append(p.permit_no)
    for finding in sorted(state.findings.values(), key=lambda d: d.finding_id):
        row = Finding(**finding.model_dump(), content_hash="replayed")
        out.rows[Finding].append(row)
        covered = employer_coverage(by_key[f"employer:{row.uscc}"], row.uscc, today)
        decide(finding_alert(row, projects[row.uscc]), covered[0] if covered else None, [])
    for i in state.incidents.values():
        by = employer_coverage(
            by_key[f"employer:{i.employer_uscc}"], i.employer_uscc, i.occurred_on
        )
        permit = permits.get(i.permit_no or "")
        if not by and permit is not None:
            pf = permit_facts(permit)
            keys = {pf.permit_no, pf.project_code, pf.contractor_uscc} - {None}
            candidates = list({id(f): f for k in keys for f in by_key[f"project:{k}"]}.values())
            matched = permit_coverage(candidates, pf, i.occurred_on, policy.name_threshold)
            by = [m.enrollment_id for m in matched]
        decide(incident_alert(i), by[0] if by else None, [])
    out.rows[Enterprise] = [Enterprise(**d.model_dump()) for d in state.enterprises.values()]
    out.rows[Enrollment] = list(enrollments)
    out.rows[WatchedPermit] = list(permits.values())
    out.rows[Incident] = list(state.incidents.values())
    out.rows[Alert] = list(loaded)
    out.rows[ProcessedEvent] = [
        ProcessedEvent(consumer="matcher", event_id=eid, topic=topic, processed_at=now)
        for eid, topic in state.applied.items()
    ]
    return out


def _enrollment_row(d: EnrollmentData) -> Enrollment:
    return Enrollment(
        **d.model_dump(),
        project_name_key=name_key(d.project_name) if d.project_name else None,
        content_hash="replayed",
    )


def _permit_row(d: PermitData, first_event_id: str, policy: Policy, now: datetime) -> WatchedPermit:
    due = d.received_at + timedelta(seconds=policy.grace_seconds)
    return WatchedPermit(
        permit_no=d.permit_no, event_id=first_event_id, revision=d.revision,
        project_code=d.project_code, project_name=d.project_name,
        project_name_key=name_key(d.project_name), division_code=d.division_code,
        contractor_uscc=d.contractor.uscc, contractor_name=d.contractor.name,
        received_at=d.received_at, due_at=due, checked_at=now if due <= now else None,
    )  # fmt: skip


async def write(session: AsyncSession, judged: Judged, source: str, chunk: int = 5000) -> None:
    """Bulk inserts (executemany) of every row and of the staged alert events."""
    for model, rows in judged.rows.items():
        table = model.__table__  # type: ignore[attr-defined]
        dicts = [r.model_dump() for r in rows]
        for start in range(0, len(dicts), chunk):
            await session.execute(insert(table), dicts[start : start + chunk])
    staged = [
        {
            "event_id": str(uuid.uuid4()),
            "topic": topic_of(name).name,
            "key": alert.alert_id,
            "ce_type": event_type(name),
            "ce_source": source,
            "ce_subject": alert.alert_id,
            "ce_time": datetime.now(UTC),
            "payload": json.dumps(alerts.to_data(alert).to_json(), ensure_ascii=False),
            "created_at": datetime.now(UTC),
        }
        for name, alert in judged.staged
    ]
    if staged:
        await session.execute(insert(OutboxMessage.__table__), staged)  # type: ignore[attr-defined]
