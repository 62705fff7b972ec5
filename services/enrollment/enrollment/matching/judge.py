"""Judging: which alerts to raise and which to resolve, from the facts alone (no I/O).

Every subject a batch touched is judged once, against the facts as the batch left them: a
permit (once its grace period has passed), an accident or diagnosis, an enterprise found
uninsured. Whatever order the events came in, the same facts give the same alerts.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

from enrollment.matching.drafts import (
    AlertDraft,
    finding_alert,
    incident_alert,
    incident_kind,
    match_evidence,
    permit_alert,
)
from enrollment.matching.facts import AlertFact, EnrollmentFact, Facts, IncidentFact, PermitFact
from enrollment.matching.fold import Subject
from enrollment.matching.rules import (
    Match,
    PermitLike,
    Policy,
    employer_coverage,
    permit_coverage,
    project_match,
)
from hub_shared.messaging.events import Evidence


class Index:
    """The facts looked up by the keys the rules join on."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        # One index a join key, alike in shape by nature: a key, its facts.
        self.naming: dict[str, list[EnrollmentFact]] = defaultdict(list)
        self.coded: dict[str, list[EnrollmentFact]] = defaultdict(list)
        self.projects_of: dict[str, list[EnrollmentFact]] = defaultdict(list)
        self.employer: dict[str, list[EnrollmentFact]] = defaultdict(list)
        for e in facts.enrollments.values():
            if e.kind != "project":
                self.employer[e.employer_uscc].append(e)
                continue
            self.projects_of[e.employer_uscc].append(e)
            if e.permit_no:
                self.naming[e.permit_no].append(e)
            if e.project_code:
                self.coded[e.project_code].append(e)
        self.permits_of: dict[str, list[PermitFact]] = defaultdict(list)
        self.permits_coded: dict[str, list[PermitFact]] = defaultdict(list)
        for p in facts.permits.values():
            self.permits_of[p.contractor_uscc].append(p)
            if p.project_code:
                self.permits_coded[p.project_code].append(p)
        self.findings_of: dict[str, list[str]] = defaultdict(list)
        for f in facts.findings.values():
            self.findings_of[f.uscc].append(f.finding_id)
        self.incidents_naming: dict[str, list[IncidentFact]] = defaultdict(list)
        self.incidents_of: dict[str, list[IncidentFact]] = defaultdict(list)
        for i in facts.incidents.values():
            self.incidents_of[i.employer_uscc].append(i)
            if i.permit_no:
                self.incidents_naming[i.permit_no].append(i)

    def project_candidates(self, p: PermitLike) -> list[EnrollmentFact]:
        """Project enrollments that may cover the permit (the rules decide which do)."""
        found = {e.enrollment_id: e for e in self.naming.get(p.permit_no, ())}
        for e in self.coded.get(p.project_code or "", ()):
            found[e.enrollment_id] = e
        for e in self.projects_of.get(p.contractor_uscc, ()):
            found[e.enrollment_id] = e
        return list(found.values())

    def permits_matching(self, e: EnrollmentFact, threshold: float) -> list[PermitFact]:
        """The permits an enrollment covers, were it in force: only these can change."""
        candidates = {p.permit_no: p for p in self.permits_of.get(e.employer_uscc, ())}
        if e.permit_no and e.permit_no in self.facts.permits:
            candidates[e.permit_no] = self.facts.permits[e.permit_no]
        for p in self.permits_coded.get(e.project_code or "", ()):
            candidates[p.permit_no] = p
        return [p for p in candidates.values() if project_match(e, p, threshold) is not None]


@dataclass
class Subjects:
    """Everything whose alert a batch may change, by kind."""

    permits: set[str] = field(default_factory=set)
    findings: set[str] = field(default_factory=set)
    incidents: set[str] = field(default_factory=set)


def expand(index: Index, touched: Iterable[Subject], threshold: float) -> Subjects:
    """A changed enrollment touches the permits it names and the employer's findings and
    incidents; a permit touches the incidents that name it."""
    facts = index.facts
    out = Subjects()
    for kind, key in touched:
        if kind == "permit":
            out.permits.add(key)
        elif kind == "finding":
            out.findings.add(key)
        elif kind == "incident":
            out.incidents.add(key)
        elif (e := facts.enrollments.get(key)) is not None:
            if e.kind == "project":
                out.permits.update(p.permit_no for p in index.permits_matching(e, threshold))
            else:
                out.findings.update(index.findings_of.get(e.employer_uscc, ()))
                incidents = index.incidents_of.get(e.employer_uscc, ())
                out.incidents.update(i.incident_id for i in incidents)
    for permit_no in out.permits:
        out.incidents.update(i.incident_id for i in index.incidents_naming.get(permit_no, ()))
    return out


# An alert change to publish: ("alert.raised" | "alert.resolved", the alert as it now is).
AlertChange = tuple[str, AlertFact]


def judge(
    facts: Facts, subjects: Subjects, index: Index, policy: Policy, now: datetime, today: date
) -> list[AlertChange]:
    """Open or resolve each subject's alert as the facts say; in a fixed order."""
    changes: list[AlertChange] = []
    for permit_no in sorted(subjects.permits):
        p = facts.permits.get(permit_no)
        if p is None or p.checked_at is None:  # before its due time a permit is not judged
            continue
        matches = permit_cover(index, p, today, policy)
        best = matches[0] if matches else None
        subject = ("project_not_enrolled", permit_no)
        if best is None:
            _raise(facts, changes, subject, partial(permit_alert, p, policy), now)
        else:
            _resolve(facts, changes, subject, best.enrollment_id, [match_evidence(best)], now)
    for finding_id in sorted(subjects.findings):
        if (f := facts.findings.get(finding_id)) is None:
            continue
        covered = employer_coverage(index.employer[f.uscc], f.uscc, today)
        subject = ("enterprise_uninsured", f.uscc)
        if not covered:
            projects = [p.permit_no for p in index.permits_of.get(f.uscc, ())]
            _raise(facts, changes, subject, partial(finding_alert, f, projects), now)
        else:
            _resolve(facts, changes, subject, covered[0], [], now)
    for incident_id in sorted(subjects.incidents):
        if (i := facts.incidents.get(incident_id)) is None:
            continue
        by = incident_cover(index, i, policy)
        subject = (incident_kind(i), incident_id)
        if not by:
            _raise(facts, changes, subject, partial(incident_alert, i), now)
        else:
            _resolve(facts, changes, subject, by[0], [], now)
    return changes


def incident_cover(index: Index, i: IncidentFact, policy: Policy) -> list[str]:
    """An accident or diagnosis is covered by an employer enrollment active on its date,
    or by a project enrollment of the permit it names."""
    by = employer_coverage(index.employer[i.employer_uscc], i.employer_uscc, i.occurred_on)
    permit = index.facts.permits.get(i.permit_no or "")
    if not by and permit is not None:
        candidates = index.project_candidates(permit)
        matches = permit_coverage(candidates, permit, i.occurred_on, policy.name_threshold)
        by = [m.enrollment_id for m in matches]
    return by


def permit_cover(index: Index, p: PermitLike, day: date, policy: Policy) -> list[Match]:
    return permit_coverage(index.project_candidates(p), p, day, policy.name_threshold)


def _raise(
    facts: Facts,
    changes: list[AlertChange],
    subject: tuple[str, str],
    draft: Callable[[], AlertDraft],
    now: datetime,
) -> None:
    """Not covered: open an alert, unless one is open for the kind and subject already."""
    if subject in facts.open_alerts:
        return
    alert = new_alert(draft(), now)
    facts.open_alerts[subject] = alert
    facts.touch(alert, alert.alert_id)
    changes.append(("alert.raised", alert))


def _resolve(
    facts: Facts,
    changes: list[AlertChange],
    subject: tuple[str, str],
    covered_by: str,
    evidence: list[Evidence],
    now: datetime,
) -> None:
    """Covered: resolve the subject's open alert, if it has one."""
    alert = facts.open_alerts.pop(subject, None)
    if alert is None:
        return
    resolve(alert, covered_by, evidence, now)
    facts.touch(alert, alert.alert_id)
    changes.append(("alert.resolved", alert))


def new_alert(draft: AlertDraft, now: datetime) -> AlertFact:
    return AlertFact(
        alert_id=str(uuid.uuid4()),
        kind=draft.kind,
        subject_key=draft.subject_key,
        status="open",
        division_code=draft.division_code,
        subject=draft.subject.model_dump_json(exclude_none=True),
        reason=draft.reason,
        evidence=json.dumps([e.to_json() for e in draft.evidence], ensure_ascii=False),
        raised_at=now,
        resolved_at=None,
        resolution=None,
        acknowledged_at=None,
        acknowledged_by=None,
    )


def resolve(alert: AlertFact, resolution: str, evidence: list[Evidence], now: datetime) -> None:
    """Closed by an enrollment; its evidence says how the enrollment matched."""
    if evidence:
        known = json.loads(alert.evidence)
        alert.evidence = json.dumps(known + [e.to_json() for e in evidence], ensure_ascii=False)
    alert.status = "resolved"
    alert.resolved_at = now
    alert.resolution = resolution
