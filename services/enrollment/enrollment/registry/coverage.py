"""The coverage read side: is a permit or an enterprise covered, by what, and why. The
matcher's own rules and facts answer it (enrollment.matching)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment.matching import driver, store
from enrollment.matching.facts import Facts
from enrollment.matching.judge import Index
from enrollment.matching.needs import new_needs
from enrollment.matching.rules import PermitFacts, PermitLike, employer_coverage, permit_coverage
from enrollment.registry.read_scope import enterprise_divisions, require_enterprise, require_permit
from enrollment.registry.schemas import Coverage
from hub_shared.web.auth import Principal


async def of_permit(session: AsyncSession, permit_no: str, principal: Principal) -> Coverage:
    facts = Facts()
    needs = new_needs()
    needs["permit"].add(permit_no)
    needs["enrollments_naming"].add(permit_no)
    await store.load(session, facts, needs)
    permit = facts.permits.get(permit_no)
    require_permit(principal, permit_no, permit.division_code if permit else None)
    subject: PermitLike
    if permit is None:
        # Not received (yet): only an enrollment naming the number can be found.
        subject = PermitFacts(permit_no, None, "", "")
        note = "该许可证尚未由审批系统推送到本平台; "
    else:
        subject = permit
        more = new_needs()
        more["enrollments_of"].add(permit.contractor_uscc)
        if permit.project_code:
            more["enrollments_coded"].add(permit.project_code)
        await store.load(session, facts, more)
        note = ""
    candidates = Index(facts).project_candidates(subject)
    matches = permit_coverage(candidates, subject, driver.today(driver.now()))
    if matches:
        return Coverage(
            covered=True,
            by=[m.enrollment_id for m in matches],
            explanation=note + "; ".join(m.explain() for m in matches),
        )
    return Coverage(
        covered=False, by=[], explanation=note + "未找到覆盖该施工许可证的有效按项目参保记录"
    )


async def of_enterprise(session: AsyncSession, uscc: str, principal: Principal) -> Coverage:
    facts = Facts()
    needs = new_needs()
    needs["enrollments_of"].add(uscc)
    await store.load(session, facts, needs)
    enrollments = Index(facts).employer[uscc]
    known_in = {e.division_code for e in facts.enrollments.values() if e.employer_uscc == uscc}
    require_enterprise(principal, uscc, await enterprise_divisions(session, uscc, known_in))
    by = employer_coverage(enrollments, uscc, driver.today(driver.now()))
    if by:
        return Coverage(covered=True, by=by, explanation=f"用人单位参保 {', '.join(by)} 今日有效")
    if enrollments:
        return Coverage(covered=False, by=[], explanation="该单位的参保记录均已到期或终止")
    return Coverage(covered=False, by=[], explanation="未找到该单位的用人单位参保记录")
