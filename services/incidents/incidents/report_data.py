"""The data of the key-industry report, read from the service's own tables."""

from __future__ import annotations

from datetime import date

from hub_shared import clock
from hub_shared.db import SessionFactory
from incidents import reports
from incidents.trend_data import load_facts


async def key_industry_report(
    *, sessions: SessionFactory, division_code: str, year: int
) -> reports.KeyIndustryReport:
    """Load what the report needs and compute it (reports.py holds the definitions)."""
    today = clock.today()
    as_of = reports.stock_date(year, today)
    moment = clock.now() if as_of == today else clock.end_of_day(as_of)
    facts = await load_facts(
        sessions=sessions, division_code=division_code, first=date(year, 1, 1), last=as_of
    )
    return reports.key_industry_report(
        division_code=division_code,
        year=year,
        as_of=as_of,
        enterprises=reports.enterprises_as_of(facts.states(), moment),
        enrollments=facts.enrollment_facts(),
        accidents=facts.accident_facts(),
    )
