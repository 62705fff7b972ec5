"""Recording an inspection with its findings, and closing a finding by a rectification.

An inspection and its events are written in one transaction; the same id with the same
content gives the first answer, other content a Conflict. A finding of an uninsured kind
is also published as `enterprise.uninsured` (findings.v1), so that the matcher raises
today's alert for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from hub_shared import clock
from hub_shared.domain.divisions import covers_any
from hub_shared.messaging.events import FindingData
from hub_shared.messaging.outbox import add_event
from hub_shared.storage.db import SessionFactory
from hub_shared.storage.group_commit import GroupCommitter
from hub_shared.storage.uow import UnitOfWork
from hub_shared.web.errors import Conflict, NotFound, Unprocessable
from incidents.inspections import overdue
from incidents.inspections.kinds import UNINSURED_KINDS
from incidents.inspections.schemas import InspectionIn, RectificationIn
from incidents.inspections.tables import IncidentsInspection, IncidentsInspectionFinding
from incidents.rules import fingerprint, same_content


def check(report: InspectionIn) -> None:
    """Rules across fields: every deadline on or after the inspection, finding ids unique."""
    errors = []
    seen: set[str] = set()
    for index, finding in enumerate(report.findings):
        if finding.deadline < report.inspected_on:
            errors.append(
                {
                    "loc": ["body", "findings", str(index), "deadline"],
                    "msg": "the deadline must not be before inspected_on",
                    "type": "value_error",
                }
            )
        if finding.finding_id in seen:
            errors.append(
                {
                    "loc": ["body", "findings", str(index), "finding_id"],
                    "msg": "finding_id is repeated within the inspection",
                    "type": "value_error",
                }
            )
        seen.add(finding.finding_id)
    if errors:
        raise Unprocessable("the inspection has invalid findings", errors)


def _rows(
    report: InspectionIn, by: str
) -> tuple[IncidentsInspection, list[IncidentsInspectionFinding]]:
    inspection = IncidentsInspection(
        inspection_id=report.inspection_id,
        fingerprint=fingerprint(report.model_dump(mode="json")),
        inspected_on=report.inspected_on,
        departments=",".join(report.departments),
        enterprise_uscc=report.enterprise.uscc,
        enterprise_name=report.enterprise.name,
        division_code=report.division_code,
        industry_code=report.industry_code,
        reported_by=by,
    )
    # Request-to-row copies, alike in shape to other mappings (service.py's rows,
    # incidence.data's facts, hub_shared.messaging.outbox_admin's answers): each names
    # its own fields.
    findings = [
        IncidentsInspectionFinding(
            finding_id=f.finding_id,
            inspection_id=report.inspection_id,
            kind=f.kind,
            description=f.description,
            deadline=f.deadline,
            responsible_department=f.responsible_department,
            enterprise_uscc=report.enterprise.uscc,
            enterprise_name=report.enterprise.name,
            division_code=report.division_code,
            industry_code=report.industry_code,
            inspected_on=report.inspected_on,
            permit_no=f.permit_no,
            project_name=f.project_name,
            overdue_due=f.deadline + timedelta(days=1),
        )
        for f in report.findings
    ]
    return inspection, findings


async def accept_inspection(
    *, writes: GroupCommitter, report: InspectionIn, reported_by: str, source: str
) -> tuple[IncidentsInspection, bool]:
    """Store the inspection and its findings (and their events), or answer a repeat."""
    check(report)
    inspection, findings = _rows(report, reported_by)
    lookups = [(IncidentsInspection, report.inspection_id)] + [
        (IncidentsInspectionFinding, f.finding_id) for f in findings
    ]

    async def store(uow: UnitOfWork) -> tuple[IncidentsInspection, bool]:
        existing = await uow.get(IncidentsInspection, report.inspection_id)
        if existing is not None:
            return same_content(
                existing, inspection.fingerprint, "inspection_id", "already used"
            ), False
        taken = [
            index
            for index, f in enumerate(findings)
            if await uow.get(IncidentsInspectionFinding, f.finding_id) is not None
        ]
        if taken:
            raise Conflict(
                "finding ids already belong to another inspection",
                [
                    {"loc": ["body", "findings", str(i), "finding_id"], "msg": "already used"}
                    for i in taken
                ],
            )
        fresh_inspection, fresh_findings = _rows(report, reported_by)
        uow.session.add(fresh_inspection)
        for finding in fresh_findings:
            uow.session.add(finding)
            if finding.kind in UNINSURED_KINDS:
                _stage_uninsured(uow, finding, source)
        return fresh_inspection, True

    return await writes.run(store, lookups=lookups)


# Alike in shape to overdue.py's alert and other events' builders (enrollment's): each
# event names its own fields from its own record.
def _stage_uninsured(uow: UnitOfWork, finding: IncidentsInspectionFinding, source: str) -> None:
    data = FindingData(
        finding_id=finding.finding_id,
        uscc=finding.enterprise_uscc,
        name=finding.enterprise_name,
        division_code=finding.division_code,
        found_on=finding.inspected_on,
        source_department=f"joint-inspection:{finding.responsible_department}",
        note=finding.project_name,
    )
    add_event(
        uow.session,
        "enterprise.uninsured",
        source=source,
        key=finding.enterprise_uscc,
        subject=finding.finding_id,
        data=data.to_json(),
    )


async def findings_of(
    sessions: SessionFactory, inspection_id: str
) -> Sequence[IncidentsInspectionFinding]:
    async with sessions() as session:
        query = select(IncidentsInspectionFinding).where(
            col(IncidentsInspectionFinding.inspection_id) == inspection_id
        )
        return (
            await session.exec(query.order_by(col(IncidentsInspectionFinding.finding_id)))
        ).all()


async def rectify(
    *,
    sessions: SessionFactory,
    finding_id: str,
    rectification: RectificationIn,
    rectified_by: str,
    divisions: Sequence[str],
    source: str,
) -> tuple[IncidentsInspectionFinding, bool]:
    """Close a finding; resolve its overdue alert if one was raised. A second rectification
    changes nothing and answers the finding as it stands."""
    async with sessions() as session, session.begin():
        finding = await session.get(IncidentsInspectionFinding, finding_id)
        if finding is None or not covers_any(divisions, finding.division_code):
            raise NotFound(f"no finding {finding_id}")
        if rectification.rectified_on < finding.inspected_on:
            raise Unprocessable(
                "the rectification predates the inspection",
                [
                    {
                        "loc": ["body", "rectified_on"],
                        "msg": "before inspected_on",
                        "type": "value_error",
                    }
                ],
            )
        # The conditional update serializes with the overdue scanner on the row: whichever
        # comes second sees the other's change.
        closed = await session.execute(
            update(IncidentsInspectionFinding)
            .where(
                col(IncidentsInspectionFinding.finding_id) == finding_id,
                col(IncidentsInspectionFinding.rectified_on).is_(None),
            )
            .values(
                rectified_on=rectification.rectified_on,
                rectification_evidence=rectification.evidence,
                rectified_by=rectified_by,
                rectified_at=clock.now(),
                overdue_due=None,
            )
        )
        await session.refresh(finding)
        changed = closed.rowcount == 1  # type: ignore[attr-defined]
        if changed and finding.overdue_alert_id is not None:
            overdue.stage_resolved(session, finding, source)
    return finding, changed


def status_of(finding: IncidentsInspectionFinding, today: date) -> str:
    """open, overdue (open past its deadline), rectified_on_time or rectified_late."""
    if finding.rectified_on is None:
        return "overdue" if today > finding.deadline else "open"
    return "rectified_on_time" if finding.rectified_on <= finding.deadline else "rectified_late"
