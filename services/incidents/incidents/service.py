"""Accident and disease intake, record look-ups and the report's data, as plain functions.

Intake is idempotent on `report_id` / `diagnosis_id`: the record and its event are written
in one transaction; the same id again with the same (normalised) content gives the first
answer, with other content a Conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlmodel import col, select

from hub_shared import clock
from hub_shared.domain.codelists import DISEASE_CATEGORIES, AccidentGrade
from hub_shared.domain.divisions import covers_any
from hub_shared.domain.identifiers import mask_resident_id, resident_id_digest
from hub_shared.domain.industries import key_industries_of
from hub_shared.messaging.events import AccidentData, DiseaseData, EventData, Party
from hub_shared.storage.db import SessionFactory
from hub_shared.storage.group_commit import GroupCommitter
from hub_shared.storage.uow import UnitOfWork
from incidents.rules import fingerprint, mask_name, same_content, split_industry_code
from incidents.schemas import AccidentIn, AccidentOut, DiseaseIn, DiseaseOut
from incidents.schemas import Party as PartyOut
from incidents.tables import IncidentsAccident, IncidentsDisease

T = TypeVar("T")
Row = TypeVar("Row", IncidentsAccident, IncidentsDisease)


@dataclass(frozen=True)
class Accepted(Generic[T]):
    record: T
    created: bool


# --- intake and look-up, the same for accidents and diseases ---


async def _store_once(
    *,
    writes: GroupCommitter,
    make_row: Callable[[], Row],
    id_field: str,
    event_name: str,
    event: Callable[[Row], EventData],
    source: str,
) -> Accepted[Row]:
    """Store a row and stage its event in one transaction, or give the stored row of a repeat
    (the same id with the same fingerprint; other content is a Conflict). A repeat committed
    concurrently makes the group commit redo this, and the redo sees it."""
    probe = make_row()
    model, record_id = type(probe), getattr(probe, id_field)

    async def store(uow: UnitOfWork) -> Accepted[Row]:
        existing = await uow.get(model, record_id)
        if existing is not None:
            return Accepted(same_content(existing, probe.fingerprint, id_field), created=False)
        row = make_row()
        row.event_id = uow.add_event(
            event_name,
            source=source,
            key=row.employer_uscc,
            subject=record_id,
            data=event(row).to_json(),
        )
        uow.session.add(row)
        return Accepted(row, created=True)

    return await writes.run(store, lookups=[(model, record_id)])


async def _visible(
    sessions: SessionFactory, model: type[Row], record_id: str, divisions: Sequence[str]
) -> Row | None:
    """The stored record, or None when unknown or outside the caller's divisions."""
    async with sessions() as session:
        row = await session.get(model, record_id)
    if row is None or not covers_any(divisions, row.division_code):
        return None
    return row


# --- accidents ---


def _accident_row(report: AccidentIn, *, by: str) -> IncidentsAccident:
    division, industry_class = split_industry_code(report.industry_code)
    return IncidentsAccident(
        report_id=report.report_id,
        event_id="",
        fingerprint=fingerprint(report.model_dump(mode="json")),
        occurred_at=clock.as_utc(report.occurred_at),
        occurred_on=clock.local_date(report.occurred_at),
        division_code=report.division_code,
        employer_name=report.employer.name,
        employer_uscc=report.employer.uscc,
        permit_no=report.permit_no,
        industry_code=division,
        industry_class=industry_class,
        grade=report.grade,
        deaths=report.deaths,
        serious_injuries=report.serious_injuries,
        minor_injuries=report.minor_injuries,
        summary=report.summary,
        reported_by=by,
    )


def accident_out(row: IncidentsAccident) -> AccidentOut:
    grade: AccidentGrade = row.grade  # type: ignore[assignment]  # validated on the way in
    return AccidentOut(
        report_id=row.report_id,
        event_id=row.event_id,
        occurred_at=clock.as_utc(row.occurred_at).astimezone(clock.BEIJING),
        division_code=row.division_code,
        employer=PartyOut(name=row.employer_name, uscc=row.employer_uscc),
        permit_no=row.permit_no,
        industry_code=row.industry_code,
        industry_class=row.industry_class,
        key_industries=list(key_industries_of(row.industry_class or row.industry_code)),
        grade=grade,
        deaths=row.deaths,
        serious_injuries=row.serious_injuries,
        minor_injuries=row.minor_injuries,
        summary=row.summary,
        received_at=clock.as_utc(row.received_at),
    )


def _accident_event(row: IncidentsAccident) -> AccidentData:
    out = accident_out(row)
    return AccidentData(
        report_id=out.report_id,
        occurred_at=out.occurred_at,
        division_code=out.division_code,
        employer=Party(name=out.employer.name, uscc=out.employer.uscc),
        permit_no=out.permit_no,
        industry_code=out.industry_code,
        grade=out.grade,
        deaths=out.deaths,
        serious_injuries=out.serious_injuries,
        minor_injuries=out.minor_injuries,
        summary=out.summary,
    )


async def accept_accident(
    *, writes: GroupCommitter, report: AccidentIn, reported_by: str, source: str
) -> Accepted[AccidentOut]:
    """Store the report and stage `accident.reported`, or answer a repeat."""
    stored = await _store_once(
        writes=writes,
        make_row=lambda: _accident_row(report, by=reported_by),
        id_field="report_id",
        event_name="accident.reported",
        event=_accident_event,
        source=source,
    )
    return Accepted(accident_out(stored.record), created=stored.created)


async def get_accident(
    *, sessions: SessionFactory, report_id: str, divisions: Sequence[str]
) -> AccidentOut | None:
    row = await _visible(sessions, IncidentsAccident, report_id, divisions)
    return None if row is None else accident_out(row)


# --- diseases ---


def _disease_row(report: DiseaseIn, *, key: bytes, by: str) -> IncidentsDisease:
    return IncidentsDisease(
        diagnosis_id=report.diagnosis_id,
        event_id="",
        fingerprint=fingerprint(report.model_dump(mode="json"), key),
        diagnosed_on=report.diagnosed_on,
        patient_id_masked=mask_resident_id(report.patient_id_number),
        patient_digest=resident_id_digest(report.patient_id_number, key),
        patient_name_masked=mask_name(report.patient_name),
        category=report.category,
        disease=report.disease,
        employer_name=report.employer.name,
        employer_uscc=report.employer.uscc,
        division_code=report.division_code,
        institution=report.institution,
        reported_by=by,
    )


# disease_out (the REST answer) and _disease_event (the event) name the same row's fields:
# two contracts that evolve apart, so each is spelled out.
def disease_out(row: IncidentsDisease, repeat_of: list[str]) -> DiseaseOut:
    return DiseaseOut(
        diagnosis_id=row.diagnosis_id,
        event_id=row.event_id,
        diagnosed_on=row.diagnosed_on,
        patient_id_masked=row.patient_id_masked,
        patient_digest=row.patient_digest,
        patient_name_masked=row.patient_name_masked,
        category=row.category,
        category_zh=DISEASE_CATEGORIES[row.category].name_zh,
        disease=row.disease,
        employer=PartyOut(name=row.employer_name, uscc=row.employer_uscc),
        division_code=row.division_code,
        institution=row.institution,
        received_at=clock.as_utc(row.received_at),
        repeat_of=repeat_of,
    )


# Alike in shape to hub_shared.messaging.outbox's row-to-envelope mapping: each maps its own table
# to its own model.
def _disease_event(row: IncidentsDisease) -> DiseaseData:
    return DiseaseData(
        diagnosis_id=row.diagnosis_id,
        diagnosed_on=row.diagnosed_on,
        patient_id_masked=row.patient_id_masked,
        patient_digest=row.patient_digest,
        category=row.category,
        disease=row.disease,
        employer=Party(name=row.employer_name, uscc=row.employer_uscc),
        division_code=row.division_code,
        institution=row.institution,
    )


async def _earlier_diagnoses(
    sessions: SessionFactory, row: IncidentsDisease, divisions: Sequence[str]
) -> list[str]:
    """Ids of the same person's earlier diagnoses that the caller may see."""
    async with sessions() as session:
        query = select(IncidentsDisease).where(
            col(IncidentsDisease.patient_digest) == row.patient_digest
        )
        others = (await session.exec(query)).all()
    own = (row.diagnosed_on, row.diagnosis_id)
    earlier = sorted(
        (other.diagnosed_on, other.diagnosis_id)
        for other in others
        if (other.diagnosed_on, other.diagnosis_id) < own
        and covers_any(divisions, other.division_code)
    )
    return [diagnosis_id for _, diagnosis_id in earlier]


async def accept_disease(
    *,
    writes: GroupCommitter,
    sessions: SessionFactory,
    report: DiseaseIn,
    key: bytes,
    reported_by: str,
    source: str,
    divisions: Sequence[str],
) -> Accepted[DiseaseOut]:
    """Store the masked diagnosis and stage `disease.diagnosed`, or answer a repeat."""
    stored = await _store_once(
        writes=writes,
        make_row=lambda: _disease_row(report, key=key, by=reported_by),
        id_field="diagnosis_id",
        event_name="disease.diagnosed",
        event=_disease_event,
        source=source,
    )
    repeat_of = await _earlier_diagnoses(sessions, stored.record, divisions)
    return Accepted(disease_out(stored.record, repeat_of), created=stored.created)


async def get_disease(
    *, sessions: SessionFactory, diagnosis_id: str, divisions: Sequence[str]
) -> DiseaseOut | None:
    row = await _visible(sessions, IncidentsDisease, diagnosis_id, divisions)
    if row is None:
        return None
    return disease_out(row, await _earlier_diagnoses(sessions, row, divisions))
