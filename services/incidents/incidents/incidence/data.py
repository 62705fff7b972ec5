"""The incidence tables and trend of a division, read from the incidents tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select

from hub_shared import clock
from hub_shared.storage.db import SessionFactory
from incidents.incidence.figures import (
    PNEUMOCONIOSIS,
    DiagnosisFact,
    IncidenceTable,
    first_diagnoses,
    incidence_table,
)
from incidents.incidence.trend import IncidenceTrend, years_needed
from incidents.reports import key_industries, trends
from incidents.reports.queries import TrendQuery
from incidents.reports.trend_data import load_facts, trend_report
from incidents.tables import IncidentsDisease


@dataclass(frozen=True)
class IncidenceFacts:
    """Enterprise states and employer enrollments (trend_data); each person's first diagnoses."""

    states: Sequence[key_industries.EnterpriseState]
    enrollments: Sequence[key_industries.EnrollmentFact]
    new_cases: Sequence[DiagnosisFact]
    new_pneumoconiosis: Sequence[DiagnosisFact]

    def table(self, *, division_code: str, year: int, today: date, now: datetime) -> IncidenceTable:
        as_of = key_industries.stock_date(year, today)
        moment = now if as_of == today else clock.end_of_day(as_of)
        states = key_industries.enterprises_as_of(self.states, moment)
        denominators = key_industries.key_industry_report(
            division_code=division_code,
            year=year,
            as_of=as_of,
            enterprises=states,
            enrollments=self.enrollments,
            accidents=(),
        )
        return incidence_table(
            table=denominators,
            enterprises=states,
            new_cases=self.new_cases,
            new_pneumoconiosis=self.new_pneumoconiosis,
        )


async def load(*, sessions: SessionFactory, last: date) -> IncidenceFacts:
    """Every diagnosis up to `last` (a person's first one may lie in any division or year)."""
    facts = await load_facts(sessions=sessions, division_code="370800", first=last, last=last)
    async with sessions() as session:
        rows = (
            await session.exec(
                select(IncidentsDisease).where(col(IncidentsDisease.diagnosed_on) <= last)
            )
        ).all()
    # A row-to-fact copy, alike in shape to other mappings (inspections.intake's rows,
    # hub_shared.messaging.outbox_admin's answers): the rules take plain values, not tables.
    diagnoses = [
        DiagnosisFact(
            diagnosis_id=row.diagnosis_id,
            patient_digest=row.patient_digest,
            category=row.category,
            employer_uscc=row.employer_uscc,
            division_code=row.division_code,
            diagnosed_on=row.diagnosed_on,
        )
        for row in rows
    ]
    return IncidenceFacts(
        states=facts.states(),
        enrollments=facts.enrollment_facts(),
        new_cases=first_diagnoses(diagnoses),
        new_pneumoconiosis=first_diagnoses(diagnoses, category=PNEUMOCONIOSIS),
    )


async def incidence_table_of(
    *, sessions: SessionFactory, division_code: str, year: int
) -> IncidenceTable:
    """The incidence of one division and year (the key-industry export's extra columns)."""
    today = clock.today()
    loaded = await load(sessions=sessions, last=key_industries.stock_date(year, today))
    return loaded.table(division_code=division_code, year=year, today=today, now=clock.now())


async def incidence_trend(
    *, sessions: SessionFactory, division_code: str, from_year: int, to_year: int
) -> IncidenceTrend:
    """The incidence of a division over the years, and its counties' in the last year."""
    today, now = clock.today(), clock.now()
    loaded = await load(sessions=sessions, last=key_industries.stock_date(to_year, today))
    years = list(range(from_year, to_year + 1))
    tables = {
        year: loaded.table(division_code=division_code, year=year, today=today, now=now)
        for year in years_needed(years, today.year)
    }
    county_years = years_needed([to_year], today.year)
    counties = {
        code: {
            year: loaded.table(division_code=code, year=year, today=today, now=now)
            for year in county_years
        }
        for code in trends.counties_in(division_code)
    }
    return IncidenceTrend(division_code, tuple(years), tables, counties)


async def trends_with_incidence(
    *, sessions: SessionFactory, query: TrendQuery
) -> tuple[trends.TrendReport, IncidenceTrend]:
    """The trend report and the disease incidence over the same years: the JSON report
    (insights.get_trends) and the page (pages.trends_page) show both."""
    report = await trend_report(
        sessions=sessions,
        division_code=query.division_code,
        from_year=query.from_year,
        to_year=query.to_year,
    )
    incidence = await incidence_trend(
        sessions=sessions,
        division_code=query.division_code,
        from_year=query.from_year,
        to_year=query.to_year,
    )
    return report, incidence
