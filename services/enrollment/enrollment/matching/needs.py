"""What a batch must read before it can fold and judge, and which keys it must lock.

Needs are sets of keys by what they look up ("permits_of" a contractor, "enrollments_coded"
with a project code, ...); the store answers each with one query per table. Judging needs
depend on the facts read so far (a permit's project code, an accident's permit), so the
driver asks again until nothing new is needed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from enrollment.matching.facts import Facts, PermitFact
from enrollment.matching.fold import Event
from enrollment.matching.judge import Subjects
from hub_shared.messaging.events import (
    AccidentData,
    DiseaseData,
    EnrollmentData,
    FindingData,
    PermitData,
)

Needs = dict[str, set[str]]


def new_needs() -> Needs:
    return defaultdict(set)


def of_events(events: Iterable[Event]) -> Needs:
    """The rows the events fold into: their own, if stored already."""
    needs = new_needs()
    for event in events:
        data = event.data
        if isinstance(data, PermitData):
            needs["permit"].add(data.permit_no)
        elif isinstance(data, EnrollmentData):
            needs["enrollment"].add(data.enrollment_id)
        elif isinstance(data, FindingData):
            needs["finding"].add(data.finding_id)
        elif isinstance(data, AccidentData):
            needs["incident"].add(data.report_id)
        elif isinstance(data, DiseaseData):
            needs["incident"].add(data.diagnosis_id)
    return needs


def of_enrollments(facts: Facts, enrollment_ids: Iterable[str]) -> Needs:
    """What a changed enrollment may touch: the permits it may name, the employer's
    findings and incidents."""
    needs = new_needs()
    for enrollment_id in enrollment_ids:
        e = facts.enrollments.get(enrollment_id)
        if e is None:
            continue
        if e.kind == "project":
            needs["permits_of"].add(e.employer_uscc)
            if e.permit_no:
                needs["permit"].add(e.permit_no)
            if e.project_code:
                needs["permits_coded"].add(e.project_code)
        else:
            needs["findings_of"].add(e.employer_uscc)
            needs["incidents_of"].add(e.employer_uscc)
    return needs


def of_subjects(facts: Facts, subjects: Subjects) -> Needs:
    """What judging the subjects reads: each one's candidates and its open alert."""
    needs = new_needs()
    for permit_no in subjects.permits:
        needs["incidents_naming"].add(permit_no)
        needs["alerts"].add(permit_no)
        if (p := facts.permits.get(permit_no)) is not None:
            _candidates(needs, p)
    for finding_id in subjects.findings:
        if (f := facts.findings.get(finding_id)) is not None:
            needs["enrollments_of"].add(f.uscc)
            needs["permits_of"].add(f.uscc)
            needs["alerts"].add(f.uscc)
    for incident_id in subjects.incidents:
        needs["alerts"].add(incident_id)
        if (i := facts.incidents.get(incident_id)) is None:
            continue
        needs["enrollments_of"].add(i.employer_uscc)
        if i.permit_no:
            needs["permit"].add(i.permit_no)
            if (p := facts.permits.get(i.permit_no)) is not None:
                _candidates(needs, p)
    return needs


def _candidates(needs: Needs, p: PermitFact) -> None:
    needs["enrollments_naming"].add(p.permit_no)
    needs["enrollments_of"].add(p.contractor_uscc)
    if p.project_code:
        needs["enrollments_coded"].add(p.project_code)


def missing(needs: Needs, loaded: Needs) -> Needs:
    out = new_needs()
    for what, keys in needs.items():
        if new := keys - loaded[what]:
            out[what] = new
    return out


def lock_keys(facts: Facts, events: Iterable[Event], subjects: Subjects) -> set[str]:
    """The join keys of everything a batch changes or judges: a permit's number, project
    code and contractor; an enrollment's the same; an incident's employer and permit; a
    finding's enterprise. Two batches whose facts could meet in one judgement share one of
    these keys, so locking them all (in one order) serialises exactly those batches and
    lets unrelated subjects be judged in parallel."""
    keys: set[str] = set()
    for event in events:
        data = event.data
        if isinstance(data, PermitData):
            keys |= {f"pn:{data.permit_no}", f"u:{data.contractor.uscc}"}
            keys |= {f"pc:{data.project_code}"} if data.project_code else set()
        elif isinstance(data, EnrollmentData):
            keys.add(f"u:{data.employer_uscc}")
            keys |= {f"pn:{data.permit_no}"} if data.permit_no else set()
            keys |= {f"pc:{data.project_code}"} if data.project_code else set()
        elif isinstance(data, FindingData):
            keys.add(f"u:{data.uscc}")
        elif isinstance(data, AccidentData | DiseaseData):
            keys.add(f"u:{data.employer.uscc}")
            if isinstance(data, AccidentData) and data.permit_no:
                keys.add(f"pn:{data.permit_no}")
    for permit_no in subjects.permits:
        for p in (facts.permits.get(permit_no), facts.stored_permits.get(permit_no)):
            keys |= _permit_keys(p)
    for finding_id in subjects.findings:
        if (f := facts.findings.get(finding_id)) is not None:
            keys.add(f"u:{f.uscc}")
    for incident_id in subjects.incidents:
        if (i := facts.incidents.get(incident_id)) is not None:
            keys.add(f"u:{i.employer_uscc}")
            keys |= _permit_keys(facts.permits.get(i.permit_no or ""))
    return keys


def _permit_keys(p: PermitFact | None) -> set[str]:
    if p is None:
        return set()
    keys = {f"pn:{p.permit_no}", f"u:{p.contractor_uscc}"}
    return keys | ({f"pc:{p.project_code}"} if p.project_code else set())
