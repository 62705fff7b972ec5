"""Registering key personnel and accepting training completions, as plain functions.

The ID number is masked and digested with the service's PII key at once; neither the
number nor its digest-free form is stored, logged or answered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlmodel import col, select

from hub_shared import clock
from hub_shared.domain.identifiers import mask_resident_id, resident_id_digest
from hub_shared.storage.db import SessionFactory
from hub_shared.storage.group_commit import GroupCommitter
from hub_shared.storage.uow import UnitOfWork
from incidents.rules import fingerprint, mask_name, same_content
from incidents.training.schemas import CompletionIn, KeyPersonIn
from incidents.training.tables import IncidentsKeyPerson, IncidentsTrainingCompletion


def roster_id_of(uscc: str, role: str, digest: str) -> str:
    return hashlib.sha256(f"{uscc}|{role}|{digest}".encode()).hexdigest()[:32]


def person_row(person: KeyPersonIn, *, key: bytes, by: str) -> IncidentsKeyPerson:
    digest = resident_id_digest(person.person_id_number, key)
    return IncidentsKeyPerson(
        roster_id=roster_id_of(person.enterprise.uscc, person.role, digest),
        enterprise_uscc=person.enterprise.uscc,
        enterprise_name=person.enterprise.name,
        division_code=person.division_code,
        industry_code=person.industry_code,
        role=person.role,
        person_id_masked=mask_resident_id(person.person_id_number),
        person_digest=digest,
        person_name_masked=mask_name(person.person_name),
        listed_on=person.listed_on or clock.today(),
        registered_by=by,
    )


async def register_person(
    *, writes: GroupCommitter, person: KeyPersonIn, key: bytes, by: str
) -> tuple[IncidentsKeyPerson, bool]:
    """Add a roster row; the same person in the same role again answers the stored row."""
    row = person_row(person, key=key, by=by)

    async def store(uow: UnitOfWork) -> tuple[IncidentsKeyPerson, bool]:
        existing = await uow.get(IncidentsKeyPerson, row.roster_id)
        if existing is not None:
            return existing, False
        fresh = person_row(person, key=key, by=by)
        uow.session.add(fresh)
        return fresh, True

    return await writes.run(store, lookups=[(IncidentsKeyPerson, row.roster_id)])


def completion_row(
    completion: CompletionIn, *, key: bytes, by: str, channel: str
) -> IncidentsTrainingCompletion:
    return IncidentsTrainingCompletion(
        completion_id=completion.completion_id,
        fingerprint=fingerprint(completion.model_dump(mode="json"), key),
        person_id_masked=mask_resident_id(completion.person_id_number),
        person_digest=resident_id_digest(completion.person_id_number, key),
        course=completion.course,
        hours=completion.hours,
        completed_on=completion.completed_on,
        trainer=completion.trainer,
        channel=channel,
        reported_by=by,
    )


async def accept_completion(
    *, writes: GroupCommitter, completion: CompletionIn, key: bytes, by: str, channel: str
) -> tuple[IncidentsTrainingCompletion, bool]:
    """Store a completion once; the same id with other content is a Conflict."""
    probe = completion_row(completion, key=key, by=by, channel=channel)

    async def store(uow: UnitOfWork) -> tuple[IncidentsTrainingCompletion, bool]:
        existing = await uow.get(IncidentsTrainingCompletion, probe.completion_id)
        if existing is not None:
            return same_content(existing, probe.fingerprint, "completion_id", "already used"), False
        fresh = completion_row(completion, key=key, by=by, channel=channel)
        uow.session.add(fresh)
        return fresh, True

    return await writes.run(store, lookups=[(IncidentsTrainingCompletion, probe.completion_id)])


async def is_trained(sessions: SessionFactory, digests: Sequence[str]) -> set[str]:
    """Those of `digests` with a completion (any date)."""
    async with sessions() as session:
        query = select(IncidentsTrainingCompletion.person_digest).where(
            col(IncidentsTrainingCompletion.person_digest).in_(list(digests))
        )
        return set((await session.exec(query)).all())
