"""The inspection report and the open findings of a division, read from the tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel import col, select

from hub_shared import clock
from hub_shared.domain import divisions
from hub_shared.storage.db import SessionFactory
from incidents.inspections.report import (
    FindingFact,
    InspectionFact,
    InspectionReport,
    inspection_report,
)
from incidents.inspections.tables import IncidentsInspection, IncidentsInspectionFinding
from incidents.reports.trends import counties_in


async def report_of(*, sessions: SessionFactory, division_code: str, year: int) -> InspectionReport:
    first, last = date(year, 1, 1), date(year, 12, 31)
    async with sessions() as session:
        # Two queries alike in shape: the year's inspections and its findings, each of its own
        # table.
        inspections = (
            await session.exec(
                select(IncidentsInspection).where(
                    col(IncidentsInspection.inspected_on) >= first,
                    col(IncidentsInspection.inspected_on) <= last,
                )
            )
        ).all()
        findings = (
            await session.exec(
                select(IncidentsInspectionFinding).where(
                    col(IncidentsInspectionFinding.inspected_on) >= first,
                    col(IncidentsInspectionFinding.inspected_on) <= last,
                )
            )
        ).all()
    return inspection_report(
        division_code=division_code,
        year=year,
        today=clock.today(),
        inspections=[
            InspectionFact(i.inspection_id, i.division_code, i.industry_code, i.inspected_on)
            for i in inspections
        ],
        findings=[FindingFact(f.inspection_id, f.deadline, f.rectified_on) for f in findings],
        counties=counties_in(division_code),
    )


async def open_findings(
    *, sessions: SessionFactory, division_code: str
) -> Sequence[IncidentsInspectionFinding]:
    """The division's findings not yet rectified, the most overdue first."""
    async with sessions() as session:
        rows = (
            await session.exec(
                select(IncidentsInspectionFinding)
                .where(col(IncidentsInspectionFinding.rectified_on).is_(None))
                .order_by(col(IncidentsInspectionFinding.deadline))
            )
        ).all()
    return [row for row in rows if divisions.covers(division_code, row.division_code)]
