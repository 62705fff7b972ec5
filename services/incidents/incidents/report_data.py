"""The data of the key-industry report, read from the service's own tables."""

from __future__ import annotations

from hub_shared.storage.db import SessionFactory
from incidents import reports
from incidents.trend_data import year_facts


async def key_industry_report(
    *, sessions: SessionFactory, division_code: str, year: int
) -> reports.KeyIndustryReport:
    """Load what the report needs and compute it (reports.py holds the definitions)."""
    as_of, moment, facts = await year_facts(
        sessions=sessions, division_code=division_code, year=year
    )
    return reports.key_industry_report(
        division_code=division_code,
        year=year,
        as_of=as_of,
        enterprises=reports.enterprises_as_of(facts.states(), moment),
        enrollments=facts.enrollment_facts(),
        accidents=facts.accident_facts(),
    )
