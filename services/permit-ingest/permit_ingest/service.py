"""Accepting permits: idempotent on webhook-id and on content, 409 on conflicting content."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hub_shared import clock
from hub_shared.messaging.events import PermitData
from hub_shared.storage.uow import Lookup, UnitOfWork
from hub_shared.web.errors import (
    Conflict,
    Forbidden,
    HubError,
    NotFound,
    Unprocessable,
)
from hub_shared.web.http import parse_json, parse_model
from permit_ingest.schemas import PermitIn, apply_source_aliases
from permit_ingest.tables import PermitRecord, WebhookReceipt


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]


@dataclass
class Delivery:
    """Who sent a request: the source system, its webhook-id and its division aliases."""

    source_id: str
    webhook_id: str
    event_source: str
    aliases: dict[str, str] = field(default_factory=dict)
    body_hash: str | None = None  # SHA-256 of the request body, hex


def receipt_lookup(delivery: Delivery) -> Lookup:
    """The key of the receipt `once` reads, for the group to fetch with its others."""
    return WebhookReceipt, (delivery.source_id, delivery.webhook_id)


def permit_lookup(permit_no: str) -> Lookup:
    return PermitRecord, permit_no


async def once(
    uow: UnitOfWork, delivery: Delivery, work: Callable[[UnitOfWork], Awaitable[Answer]]
) -> Answer:
    """`work`'s answer, remembered for the webhook-id; a repeated webhook-id gets the first."""
    answer = await first_answer(uow, delivery)
    if answer is None:
        answer = await work(uow)
        remember(uow, delivery, answer)
    return answer


async def first_answer(uow: UnitOfWork, delivery: Delivery) -> Answer | None:
    """The first answer given to this webhook-id, if it came before."""
    receipt = await uow.get(WebhookReceipt, (delivery.source_id, delivery.webhook_id))
    if receipt is None:
        return None
    if receipt.content_hash is not None and receipt.content_hash != delivery.body_hash:
        # A sender reusing an id for other content must not have it silently dropped.
        raise Conflict(
            f"webhook-id {delivery.webhook_id} was already received with a different body; "
            "send other content under a new webhook-id"
        )
    return Answer(receipt.status_code, json.loads(receipt.response))


def remember(uow: UnitOfWork, delivery: Delivery, answer: Answer) -> None:
    uow.session.add(
        WebhookReceipt(
            source_id=delivery.source_id,
            webhook_id=delivery.webhook_id,
            status_code=answer.status_code,
            response=json.dumps(answer.body, ensure_ascii=False),
            content_hash=delivery.body_hash,
        )
    )


def validate_permit(raw: Any, delivery: Delivery, prefix: tuple[str, ...] = ("body",)) -> PermitIn:
    permit = parse_model(PermitIn, apply_source_aliases(raw, delivery.aliases), prefix)
    if permit.planned_end < permit.planned_start:
        loc = [*prefix, "planned_end"]
        raise Unprocessable(
            "1 invalid field(s)", [{"loc": loc, "msg": "planned_end is before planned_start"}]
        )
    return permit


def _event_data(permit: PermitIn, record: PermitRecord) -> dict[str, Any]:
    return PermitData.model_validate(
        {
            **permit.model_dump(mode="json"),
            "received_at": record.received_at.isoformat(),
            "source_id": record.source_id,
            "revision": record.revision,
        }
    ).to_json()


def _new_record(permit: PermitIn, delivery: Delivery) -> PermitRecord:
    return PermitRecord(
        permit_no=permit.permit_no,
        first_event_id="",
        last_event_id="",
        content_hash=permit.content_hash(),
        payload=permit.model_dump_json(),
        source_id=delivery.source_id,
        division_code=permit.division_code,
        received_at=clock.now(),
    )


async def accept_permit(
    uow: UnitOfWork,
    permit: PermitIn,
    delivery: Delivery,
    known: dict[str, PermitRecord] | None = None,
) -> Answer:
    """Store a new permit and stage `permit.issued`; an identical repeat answers 200."""
    known = known if known is not None else {}
    existing = known.get(permit.permit_no) or await uow.get(PermitRecord, permit.permit_no)
    if existing is not None:
        if existing.revision == 1 and existing.content_hash == permit.content_hash():
            return Answer(200, _accepted(existing.first_event_id, permit.permit_no, "duplicate"))
        if existing.content_hash == permit.content_hash():
            return Answer(200, _accepted(existing.last_event_id, permit.permit_no, "duplicate"))
        raise Conflict(
            f"permit {permit.permit_no} was already received with different content; "
            "send amendments with PUT /v1/permits/{permit_no}"
        )
    record = _new_record(permit, delivery)
    event_id = _stage(uow, "permit.issued", permit, record, delivery)
    record.first_event_id = record.last_event_id = event_id
    uow.session.add(record)
    known[permit.permit_no] = record
    return Answer(202, _accepted(event_id, permit.permit_no, "accepted"))


def _stage(
    uow: UnitOfWork, name: str, permit: PermitIn, record: PermitRecord, delivery: Delivery
) -> str:
    """Stage the permit's event on its topic, keyed by the permit number; its event id."""
    return uow.add_event(
        name,
        source=delivery.event_source,
        key=permit.permit_no,
        subject=permit.permit_no,
        data=_event_data(permit, record),
    )


async def amend_permit(uow: UnitOfWork, permit: PermitIn, delivery: Delivery) -> Answer:
    """Replace a permit's content and stage `permit.amended`; unchanged content answers 200."""
    record = await uow.get(PermitRecord, permit.permit_no)
    if record is None:
        raise NotFound(f"permit {permit.permit_no} has not been received")
    if record.source_id != delivery.source_id:
        # 403, not 409: the content may be fine, but only the issuing system may amend it.
        raise Forbidden(
            f"permit {permit.permit_no} was sent by another source; only it may amend the permit"
        )
    if record.content_hash == permit.content_hash():
        return Answer(
            200,
            {
                **_accepted(record.last_event_id, permit.permit_no, "unchanged"),
                "revision": record.revision,
            },
        )
    record.revision += 1
    record.content_hash = permit.content_hash()
    record.payload = permit.model_dump_json()
    record.division_code = permit.division_code
    record.updated_at = clock.now()
    event_id = _stage(uow, "permit.amended", permit, record, delivery)
    record.last_event_id = event_id
    uow.session.add(record)
    return Answer(
        202, {**_accepted(event_id, permit.permit_no, "amended"), "revision": record.revision}
    )


def batch_lookups(body: bytes) -> list[Lookup]:
    """The permits a batch names, for the group to fetch in one query."""
    return [permit_lookup(no) for no in _permit_numbers(body.splitlines())]


async def accept_batch(uow: UnitOfWork, body: bytes, delivery: Delivery) -> Answer:
    """One permit a line; each line answered on its own, valid lines stored together."""
    lines = [(n, line) for n, line in enumerate(body.splitlines(), start=1) if line.strip()]
    if not lines:
        raise Unprocessable("the batch has no permits", [{"loc": ["body"], "msg": "empty batch"}])
    known: dict[str, PermitRecord] = {}  # lines of this batch, ahead of the group's rows
    results: list[dict[str, Any]] = []
    for number, line in lines:
        try:
            permit = validate_permit(parse_json(line), delivery, prefix=("line", str(number)))
            answer = await accept_permit(uow, permit, delivery, known)
            results.append({"line": number, "http_status": answer.status_code, **answer.body})
        except HubError as exc:
            results.append(
                {
                    "line": number,
                    "http_status": exc.status,
                    "status": "rejected",
                    "detail": exc.detail,
                    "errors": exc.errors,
                }
            )
    counts = {s: sum(1 for r in results if r["http_status"] == s) for s in (202, 200)}
    return Answer(
        200,
        {
            "accepted": counts[202],
            "duplicates": counts[200],
            "rejected": len(results) - counts[202] - counts[200],
            "results": results,
        },
    )


def _permit_numbers(lines: Any) -> list[str]:
    out = []
    for line in lines:
        try:
            value = json.loads(line).get("permit_no")
        except (ValueError, AttributeError):
            continue
        if isinstance(value, str):
            out.append(value.strip())
    return out


def _accepted(event_id: str, permit_no: str, status: str) -> dict[str, Any]:
    return {"event_id": event_id, "permit_no": permit_no, "status": status}
