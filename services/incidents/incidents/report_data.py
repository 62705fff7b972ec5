"""The data of the key-industry report, read from the service's own tables."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from hub_shared.db import SessionFactory
from hub_shared.divisions import CITY
from incidents import clock, reports
from incidents.models import IncidentsAccident, IncidentsEnrollment, IncidentsEnterpriseVersion


async def key_industry_report(
    *, sessions: SessionFactory, division_code: str, year: int
) -> reports.KeyIndustryReport:
    """Load what the report needs and compute it (reports.py holds the definitions)."""
    today = clock.today()
    as_of = reports.stock_date(year, today)
    moment = clock.now() if as_of == today else clock.end_of_day(as_of)
    accident_query = select(IncidentsAccident).where(
        col(IncidentsAccident.occurred_on) >= date(year, 1, 1),
        col(IncidentsAccident.occurred_on) <= as_of,
    )
    if division_code != CITY:
        accident_query = accident_query.where(col(IncidentsAccident.division_code) == division_code)
    async with sessions() as session:
        versions = (await session.exec(select(IncidentsEnterpriseVersion))).all()
        enrollments = (
            await session.exec(
                select(IncidentsEnrollment).where(
                    col(IncidentsEnrollment.kind) == "employer",
                    col(IncidentsEnrollment.valid_from) <= as_of,
                )
            )
        ).all()
        accidents = (await session.exec(accident_query)).all()
    states = reports.enterprises_as_of(
        (
            reports.EnterpriseState(
                uscc=v.uscc,
                division_code=v.division_code,
                industry_code=v.industry_code,
                employees=v.employees,
                effective_at=clock.as_utc(v.effective_at),
                version=v.event_id,
            )
            for v in versions
        ),
        moment,
    )
    return reports.key_industry_report(
        division_code=division_code,
        year=year,
        as_of=as_of,
        enterprises=states,
        enrollments=[
            reports.EnrollmentFact(
                employer_uscc=e.employer_uscc,
                kind=e.kind,
                insured_headcount=e.insured_headcount,
                valid_from=e.valid_from,
                valid_to=e.valid_to,
                terminated_on=e.terminated_on,
            )
            for e in enrollments
        ],
        accidents=[
            reports.AccidentFact(
                report_id=a.report_id,
                division_code=a.division_code,
                industry_code=a.industry_class or a.industry_code,
                occurred_on=a.occurred_on,
                deaths=a.deaths,
            )
            for a in accidents
        ],
    )
