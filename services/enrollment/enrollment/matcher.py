"""The matcher: a join over stored state, evaluated whenever either side changes.

Whatever order permits, enrollments, findings, accidents and diseases arrive in, and however
often, each subject ends with an alert open exactly when the rules say it lacks coverage.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment import alerts
from enrollment.drafts import (
    finding_alert,
    incident_alert,
    incident_kind,
    match_evidence,
    permit_alert,
)
from enrollment.models import Enrollment, Finding, Incident, WatchedPermit
from enrollment.rules import (
    EnrollmentFacts,
    PermitFacts,
    Policy,
    employer_coverage,
    permit_coverage,
    project_match,
)


def facts(e: Enrollment) -> EnrollmentFacts:
    return EnrollmentFacts(
        e.enrollment_id,
        e.kind,
        e.permit_no,
        e.project_code,
        e.project_name_key,
        e.employer_uscc,
        e.valid_from,
        e.valid_to,
        e.terminated_on,
        e.project_name,
    )


def permit_facts(p: WatchedPermit) -> PermitFacts:
    return PermitFacts(
        p.permit_no, p.project_code, p.project_name_key, p.contractor_uscc, p.project_name
    )


def now() -> datetime:
    """The matcher's clock: every judgement of "active today" and "due" reads it."""
    return datetime.now(UTC)


def today() -> date:
    return now().date()


async def project_candidates(session: AsyncSession, p: PermitFacts) -> list[EnrollmentFacts]:
    """Project enrollments that may cover the permit (the rules decide which do)."""
    clauses = [
        col(Enrollment.permit_no) == p.permit_no,
        col(Enrollment.employer_uscc) == p.contractor_uscc,
    ]
    if p.project_code:
        clauses.append(col(Enrollment.project_code) == p.project_code)
    query = select(Enrollment).where(Enrollment.kind == "project", or_(*clauses))
    return [facts(e) for e in (await session.exec(query)).all()]


async def employer_enrollments(session: AsyncSession, uscc: str) -> list[EnrollmentFacts]:
    query = select(Enrollment).where(
        Enrollment.kind == "employer", Enrollment.employer_uscc == uscc
    )
    return [facts(e) for e in (await session.exec(query)).all()]


async def evaluate_permit(session: AsyncSession, p: WatchedPermit, policy: Policy) -> None:
    """Open or resolve the permit's project_not_enrolled alert; only once it is due."""
    pf = permit_facts(p)
    candidates = await project_candidates(session, pf)
    matches = permit_coverage(candidates, pf, today(), policy.name_threshold)
    open_alert = await alerts.find_open(session, "project_not_enrolled", p.permit_no)
    if matches and open_alert is not None:
        best = matches[0]
        evidence = [match_evidence(best)]
        await alerts.resolve(session, open_alert, best.enrollment_id, policy.source, evidence)
    elif not matches and open_alert is None:
        await alerts.raise_alert(session, permit_alert(p, policy), policy.source)


async def evaluate_finding(session: AsyncSession, f: Finding, policy: Policy) -> None:
    covered = employer_coverage(await employer_enrollments(session, f.uscc), f.uscc, today())
    open_alert = await alerts.find_open(session, "enterprise_uninsured", f.uscc)
    if covered and open_alert is not None:
        await alerts.resolve(session, open_alert, covered[0], policy.source)
    elif not covered and open_alert is None:
        query = select(WatchedPermit.permit_no).where(WatchedPermit.contractor_uscc == f.uscc)
        projects = list((await session.exec(query)).all())
        await alerts.raise_alert(session, finding_alert(f, projects), policy.source)


async def evaluate_incident(session: AsyncSession, i: Incident, policy: Policy) -> None:
    """An accident or diagnosis is covered by an employer enrollment active on its date,
    or by a project enrollment of the permit it names."""
    enrollments = await employer_enrollments(session, i.employer_uscc)
    by = employer_coverage(enrollments, i.employer_uscc, i.occurred_on)
    if not by and i.permit_no:
        permit = await session.get(WatchedPermit, i.permit_no)
        if permit is not None:
            pf = permit_facts(permit)
            candidates = await project_candidates(session, pf)
            matches = permit_coverage(candidates, pf, i.occurred_on, policy.name_threshold)
            by = [m.enrollment_id for m in matches]
    open_alert = await alerts.find_open(session, incident_kind(i), i.incident_id)
    if by and open_alert is not None:
        await alerts.resolve(session, open_alert, by[0], policy.source)
    elif not by and open_alert is None:
        await alerts.raise_alert(session, incident_alert(i), policy.source)


async def after_enrollment_change(session: AsyncSession, e: Enrollment, policy: Policy) -> None:
    """Re-evaluate every subject this enrollment can cover (it was added or terminated)."""
    if e.kind == "project":
        clauses = [col(WatchedPermit.contractor_uscc) == e.employer_uscc]
        if e.permit_no:
            clauses.append(col(WatchedPermit.permit_no) == e.permit_no)
        if e.project_code:
            clauses.append(col(WatchedPermit.project_code) == e.project_code)
        candidates = (await session.exec(select(WatchedPermit).where(or_(*clauses)))).all()
        # Only permits this enrollment matches can change state when it comes or goes; a
        # large contractor's other sites are left alone (judging them all is quadratic).
        this = facts(e)
        permits = [
            p for p in candidates
            if project_match(this, permit_facts(p), policy.name_threshold) is not None
        ]  # fmt: skip
        for p in permits:
            if p.checked_at is not None:  # before its due time a permit is not judged yet
                await evaluate_permit(session, p, policy)
        numbers = [p.permit_no for p in permits]
        incidents = await session.exec(select(Incident).where(col(Incident.permit_no).in_(numbers)))
        for i in incidents.all():
            await evaluate_incident(session, i, policy)
        return
    for f in (await session.exec(select(Finding).where(Finding.uscc == e.employer_uscc))).all():
        await evaluate_finding(session, f, policy)
    for i in (
        await session.exec(select(Incident).where(Incident.employer_uscc == e.employer_uscc))
    ).all():
        await evaluate_incident(session, i, policy)


async def check_due_permits(session: AsyncSession, policy: Policy, limit: int = 200) -> int:
    """Evaluate permits whose grace period has passed; returns how many were checked."""
    checked_at = now()
    query = (
        select(WatchedPermit)
        .where(col(WatchedPermit.checked_at).is_(None), col(WatchedPermit.due_at) <= checked_at)
        .order_by(col(WatchedPermit.due_at))
        .limit(limit)
    )
    due = list((await session.exec(query)).all())
    for p in due:
        await evaluate_permit(session, p, policy)
        p.checked_at = checked_at
        session.add(p)
    return len(due)
