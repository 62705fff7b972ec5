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
from enrollment.models import Enrollment, Finding, Incident, WatchedPermit
from enrollment.rules import (
    EnrollmentFacts,
    PermitFacts,
    Policy,
    employer_coverage,
    grace_text,
    permit_coverage,
)
from hub_shared.events import AlertSubject, Evidence


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
    matches = permit_coverage(
        await project_candidates(session, pf), pf, today(), policy.name_threshold
    )
    open_alert = await alerts.find_open(session, "project_not_enrolled", p.permit_no)
    if matches and open_alert is not None:
        best = matches[0]
        found = Evidence(
            type="enrollment.registered",
            id=best.enrollment_id,
            score=best.score,
            detail=best.explain(),
        )
        await alerts.resolve(session, open_alert, best.enrollment_id, policy.source, [found])
    elif not matches and open_alert is None:
        waited = grace_text(policy.grace_seconds)
        await alerts.raise_alert(
            session,
            kind="project_not_enrolled",
            subject_key=p.permit_no,
            division_code=p.division_code,
            subject=AlertSubject(
                uscc=p.contractor_uscc,
                name=p.contractor_name,
                permit_no=p.permit_no,
                project_name=p.project_name,
            ),
            reason=f"施工许可证 {p.permit_no} 已发放 {waited}, 未找到按项目参保记录",
            evidence=[Evidence(type="permit.issued", id=p.event_id)],
            source=policy.source,
        )


async def evaluate_finding(session: AsyncSession, f: Finding, policy: Policy) -> None:
    covered = employer_coverage(await employer_enrollments(session, f.uscc), f.uscc, today())
    open_alert = await alerts.find_open(session, "enterprise_uninsured", f.uscc)
    if covered and open_alert is not None:
        await alerts.resolve(session, open_alert, covered[0], policy.source)
    elif not covered and open_alert is None:
        projects = (
            await session.exec(
                select(WatchedPermit.permit_no).where(WatchedPermit.contractor_uscc == f.uscc)
            )
        ).all()
        listed = f"; 其在建项目施工许可证: {', '.join(sorted(projects))}" if projects else ""
        await alerts.raise_alert(
            session,
            kind="enterprise_uninsured",
            subject_key=f.uscc,
            division_code=f.division_code,
            subject=AlertSubject(uscc=f.uscc, name=f.name, finding_id=f.finding_id),
            reason=f"{f.source_department} 于 {f.found_on} 发现该单位未参加工伤保险{listed}",
            evidence=[Evidence(type="enterprise.uninsured", id=f.finding_id)]
            + [Evidence(type="permit.issued", id=p, detail="在建项目") for p in sorted(projects)],
            source=policy.source,
        )


async def evaluate_incident(session: AsyncSession, i: Incident, policy: Policy) -> None:
    """An accident or diagnosis is covered by an employer enrollment active on its date,
    or by a project enrollment of the permit it names."""
    kind = "accident_uninsured_employer" if i.kind == "accident" else "disease_uninsured_employer"
    by = employer_coverage(
        await employer_enrollments(session, i.employer_uscc), i.employer_uscc, i.occurred_on
    )
    if not by and i.permit_no:
        permit = await session.get(WatchedPermit, i.permit_no)
        if permit is not None:
            pf = permit_facts(permit)
            candidates = await project_candidates(session, pf)
            by = [
                m.enrollment_id
                for m in permit_coverage(candidates, pf, i.occurred_on, policy.name_threshold)
            ]
    open_alert = await alerts.find_open(session, kind, i.incident_id)
    if by and open_alert is not None:
        await alerts.resolve(session, open_alert, by[0], policy.source)
    elif not by and open_alert is None:
        what = "生产安全事故" if i.kind == "accident" else "职业病诊断"
        await alerts.raise_alert(
            session,
            kind=kind,  # type: ignore[arg-type]
            subject_key=i.incident_id,
            division_code=i.division_code,
            subject=AlertSubject(
                uscc=i.employer_uscc,
                name=i.employer_name,
                permit_no=i.permit_no,
                **(
                    {"report_id": i.incident_id}
                    if i.kind == "accident"
                    else {"diagnosis_id": i.incident_id}
                ),
            ),
            reason=f"{what} {i.incident_id} ({i.occurred_on}) 的用人单位当日无有效工伤保险参保记录",
            evidence=[
                Evidence(
                    type=f"{i.kind}.{'reported' if i.kind == 'accident' else 'diagnosed'}",
                    id=i.event_id,
                )
            ],
            source=policy.source,
        )


async def after_enrollment_change(session: AsyncSession, e: Enrollment, policy: Policy) -> None:
    """Re-evaluate every subject this enrollment can cover (it was added or terminated)."""
    if e.kind == "project":
        clauses = [col(WatchedPermit.contractor_uscc) == e.employer_uscc]
        if e.permit_no:
            clauses.append(col(WatchedPermit.permit_no) == e.permit_no)
        if e.project_code:
            clauses.append(col(WatchedPermit.project_code) == e.project_code)
        permits = list((await session.exec(select(WatchedPermit).where(or_(*clauses)))).all())
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
    now = datetime.now(UTC)
    query = (
        select(WatchedPermit)
        .where(col(WatchedPermit.checked_at).is_(None), col(WatchedPermit.due_at) <= now)
        .order_by(col(WatchedPermit.due_at))
        .limit(limit)
    )
    due = list((await session.exec(query)).all())
    for p in due:
        await evaluate_permit(session, p, policy)
        p.checked_at = now
        session.add(p)
    return len(due)
