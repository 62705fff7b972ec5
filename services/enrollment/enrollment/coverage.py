"""The coverage read side: is a permit or an enterprise covered, by what, and why."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment import matcher
from enrollment.models import WatchedPermit
from enrollment.rules import PermitFacts, employer_coverage, permit_coverage
from enrollment.schemas import Coverage
from hub_shared.auth import Principal
from hub_shared.errors import NotFound


async def of_permit(session: AsyncSession, permit_no: str, principal: Principal) -> Coverage:
    permit = await session.get(WatchedPermit, permit_no)
    if permit is not None and not principal.covers(permit.division_code):
        raise NotFound(f"no permit {permit_no} in your divisions")
    if permit is None:
        # Not received (yet): only an enrollment naming the number can be found.
        facts = PermitFacts(permit_no, None, "", "")
        note = "该许可证尚未由审批系统推送到本平台; "
    else:
        facts = matcher.permit_facts(permit)
        note = ""
    candidates = await matcher.project_candidates(session, facts)
    matches = permit_coverage(candidates, facts, matcher.today())
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
    enrollments = await matcher.employer_enrollments(session, uscc)
    by = employer_coverage(enrollments, uscc, matcher.today())
    if by:
        return Coverage(covered=True, by=by, explanation=f"用人单位参保 {', '.join(by)} 今日有效")
    if enrollments:
        return Coverage(covered=False, by=[], explanation="该单位的参保记录均已到期或终止")
    return Coverage(covered=False, by=[], explanation="未找到该单位的用人单位参保记录")
