"""The data of the trend and floating-rate reports, read once from the service's tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select

from hub_shared import clock
from hub_shared.domain.divisions import CITY
from hub_shared.storage.db import SessionFactory
from incidents.reports import advice, key_industries, trends
from incidents.tables import IncidentsAccident, IncidentsEnrollment, IncidentsEnterpriseVersion


@dataclass(frozen=True)
class Facts:
    versions: Sequence[IncidentsEnterpriseVersion]
    enrollments: Sequence[IncidentsEnrollment]
    accidents: Sequence[IncidentsAccident]

    def states(self) -> list[key_industries.EnterpriseState]:
        return [
            key_industries.EnterpriseState(
                uscc=v.uscc,
                division_code=v.division_code,
                industry_code=v.industry_code,
                employees=v.employees,
                effective_at=clock.as_utc(v.effective_at),
                version=v.event_id,
            )
            for v in self.versions
        ]

    # Row-to-fact copies, alike in shape on purpose (here and in service.py): the rules
    # take plain values, not tables.
    def enrollment_facts(self) -> list[key_industries.EnrollmentFact]:
        return [
            key_industries.EnrollmentFact(
                employer_uscc=e.employer_uscc,
                kind=e.kind,
                insured_headcount=e.insured_headcount,
                valid_from=e.valid_from,
                valid_to=e.valid_to,
                terminated_on=e.terminated_on,
            )
            for e in self.enrollments
        ]

    def accident_facts(self) -> list[key_industries.AccidentFact]:
        return [
            key_industries.AccidentFact(
                report_id=a.report_id,
                division_code=a.division_code,
                industry_code=a.industry_class or a.industry_code,
                occurred_on=a.occurred_on,
                deaths=a.deaths,
            )
            for a in self.accidents
        ]


async def load_facts(
    *, sessions: SessionFactory, division_code: str, first: date, last: date
) -> Facts:
    """Enterprise versions, employer enrollments, and the division's accidents in [first, last]."""
    accident_query = select(IncidentsAccident).where(
        col(IncidentsAccident.occurred_on) >= first, col(IncidentsAccident.occurred_on) <= last
    )
    if division_code != CITY:
        accident_query = accident_query.where(col(IncidentsAccident.division_code) == division_code)
    async with sessions() as session:
        versions = (await session.exec(select(IncidentsEnterpriseVersion))).all()
        enrollments = (
            await session.exec(
                select(IncidentsEnrollment).where(
                    col(IncidentsEnrollment.kind) == "employer",
                    col(IncidentsEnrollment.valid_from) <= last,
                )
            )
        ).all()
        accidents = (await session.exec(accident_query)).all()
    return Facts(versions, enrollments, accidents)


async def trend_report(
    *, sessions: SessionFactory, division_code: str, from_year: int, to_year: int
) -> trends.TrendReport:
    """Load once what every year's table needs and compute the trend (trends.py)."""
    today = clock.today()
    years = list(range(from_year, to_year + 1))
    first = date(min(from_year, trends.BASELINE_YEAR), 1, 1)
    last = key_industries.stock_date(to_year, today)
    facts = await load_facts(sessions=sessions, division_code=division_code, first=first, last=last)
    return trends.compute(
        division_code=division_code,
        years=years,
        today=today,
        now=clock.now(),
        versions=facts.states(),
        enrollments=facts.enrollment_facts(),
        accidents=facts.accident_facts(),
    )


async def year_facts(
    *, sessions: SessionFactory, division_code: str, year: int
) -> tuple[date, datetime, Facts]:
    """A year's facts up to its stock date (its last day, or today in the current year), that
    date, and the moment the enterprises' states are taken at."""
    today = clock.today()
    as_of = key_industries.stock_date(year, today)
    moment = clock.now() if as_of == today else clock.end_of_day(as_of)
    facts = await load_facts(
        sessions=sessions, division_code=division_code, first=date(year, 1, 1), last=as_of
    )
    return as_of, moment, facts


async def floating_rates(
    *, sessions: SessionFactory, division_code: str, year: int
) -> advice.FloatingRateReport:
    """The floating-rate suggestions of a division's employers for a year (advice.py)."""
    # An employer's accidents count wherever they happened: load every division's.
    as_of, moment, facts = await year_facts(sessions=sessions, division_code=CITY, year=year)
    names = {v.uscc: v.name for v in facts.versions}
    states = key_industries.enterprises_as_of(facts.states(), moment)
    return advice.floating_rate_report(
        division_code=division_code,
        year=year,
        as_of=as_of,
        employers=[
            advice.Employer(
                uscc=s.uscc,
                name=names.get(s.uscc, ""),
                division_code=s.division_code,
                industry_code=s.industry_code,
            )
            for s in states
        ],
        enrollments=facts.enrollment_facts(),
        accidents=[
            advice.EmployerAccident(employer_uscc=a.employer_uscc, occurred_on=a.occurred_on)
            for a in facts.accidents
        ],
    )
