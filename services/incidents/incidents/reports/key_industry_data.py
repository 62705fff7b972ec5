"""The data of the key-industry report, read from the service's own tables."""

from __future__ import annotations

from hub_shared.storage.db import SessionFactory
from incidents.reports import key_industries
from incidents.reports.trend_data import year_facts


async def key_industry_report(
    *, sessions: SessionFactory, division_code: str, year: int
) -> key_industries.KeyIndustryReport:
    """Load what the report needs and compute it (key_industries.py holds the definitions)."""
    as_of, moment, facts = await year_facts(
        sessions=sessions, division_code=division_code, year=year
    )
    return key_industries.key_industry_report(
        division_code=division_code,
        year=year,
        as_of=as_of,
        enterprises=key_industries.enterprises_as_of(facts.states(), moment),
        enrollments=facts.enrollment_facts(),
        accidents=facts.accident_facts(),
    )
