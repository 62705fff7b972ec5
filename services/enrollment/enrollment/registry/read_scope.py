"""Which coverage reads a credential may make: divisions apply to every read.

A read is allowed by its subject's divisions, and an unknown subject answers exactly as
one in another division does (404, same words), so that a read never tells a county
whether another county's permit or enterprise exists. What is unknown belongs to the
division its number names (a permit number's first six digits), else to the city: only a
city-wide credential learns that nothing is known.

Evidence is not filtered: an enrollment registered in one county covers, and resolves the
alerts of, a permit or an employer in another (docs/security.md, "Divisions").
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment.tables import Enterprise, WatchedPermit
from hub_shared.domain.divisions import CITY, normalize_division
from hub_shared.domain.invalid import InvalidValue
from hub_shared.web.auth import Principal
from hub_shared.web.errors import NotFound


def named_division(permit_no: str) -> str:
    """The division a permit number names (its first six digits), else the city."""
    try:
        return normalize_division(permit_no[:6]) if permit_no[:14].isdigit() else CITY
    except InvalidValue:
        return CITY


def require_permit(principal: Principal, permit_no: str, division_code: str | None) -> None:
    """404 unless the permit's division (or, unknown, the one its number names) is the
    caller's."""
    if not principal.covers(division_code or named_division(permit_no)):
        raise NotFound(f"no permit {permit_no} in your divisions")


async def enterprise_divisions(
    session: AsyncSession, uscc: str, enrollment_divisions: Iterable[str]
) -> set[str]:
    """Where an enterprise is known: registered, enrolled, or building under a permit."""
    found = set(enrollment_divisions)
    registered = await session.get(Enterprise, uscc)
    if registered is not None:
        found.add(registered.division_code)
    query = select(col(WatchedPermit.division_code)).where(
        col(WatchedPermit.contractor_uscc) == uscc
    )
    found.update((await session.exec(query)).all())
    return found


def require_enterprise(principal: Principal, uscc: str, divisions: set[str]) -> None:
    """404 unless the enterprise is known in one of the caller's divisions (or the caller
    is city-wide)."""
    if not any(principal.covers(d) for d in divisions or {CITY}):
        raise NotFound(f"no enterprise {uscc} in your divisions")
