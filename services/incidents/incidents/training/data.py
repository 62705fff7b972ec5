"""Coverage reports read from the training tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.storage.db import SessionFactory
from incidents.reports import key_industries
from incidents.reports.trends import counties_in
from incidents.training.coverage import (
    CoverageReport,
    RosterFact,
    coverage_report,
    trained_digests,
)
from incidents.training.tables import IncidentsKeyPerson, IncidentsTrainingCompletion


@dataclass(frozen=True)
class TrainingFacts:
    roster: Sequence[RosterFact]
    completions: Sequence[tuple[str, date]]

    def report(self, division_code: str, as_of: date) -> CoverageReport:
        return coverage_report(
            division_code=division_code,
            as_of=as_of,
            roster=self.roster,
            trained=trained_digests(self.completions, as_of),
            counties=counties_in(division_code),
        )


async def load(sessions: SessionFactory) -> TrainingFacts:
    async with sessions() as session:
        return await read(session)


async def read(session: AsyncSession) -> TrainingFacts:
    """Every roster row and completion (digests and dates only)."""
    people = (await session.exec(select(IncidentsKeyPerson))).all()
    done = (
        await session.exec(
            select(
                col(IncidentsTrainingCompletion.person_digest),
                col(IncidentsTrainingCompletion.completed_on),
            )
        )
    ).all()
    roster = [
        RosterFact(p.enterprise_uscc, p.enterprise_name, p.division_code, p.industry_code,
                   p.role, p.person_digest, p.listed_on)
        for p in people
    ]  # fmt: skip
    return TrainingFacts(roster, [(digest, day) for digest, day in done])


async def coverage_of(
    *, sessions: SessionFactory, division_code: str, year: int
) -> tuple[CoverageReport, list[dict[str, object]]]:
    """The report on the year's stock date, and the total coverage at the end of each year
    from 2021 on (the trend)."""
    today = clock.today()
    facts = await load(sessions)
    report = facts.report(division_code, key_industries.stock_date(year, today))
    trend = []
    for each in range(2021, year + 1):
        total = facts.report(division_code, key_industries.stock_date(each, today)).total
        trend.append({"year": each} | {k: v for k, v in total.as_dict().items() if k != "roles"})
    return report, trend
