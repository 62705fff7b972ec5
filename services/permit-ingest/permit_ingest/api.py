"""HTTP edge of permit-ingest: verify the signature, then hand the body to service.py."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hub_shared.storage.uow import Lookup, UnitOfWork
from hub_shared.web import webhooks
from hub_shared.web.dependencies import runtime_of
from hub_shared.web.errors import PayloadTooLarge, Unprocessable
from hub_shared.web.http import parse_json, require_media_type
from hub_shared.web.openapi_docs import json_body, raw_body
from permit_ingest import service
from permit_ingest.schemas import PermitIn
from permit_ingest.service import Answer, Delivery

router = APIRouter(prefix="/v1", tags=["permits"])

_SIGNED = (
    "Signed with Standard Webhooks: headers `X-Hub-Source`, `webhook-id`, `webhook-timestamp`, "
    "`webhook-signature` (`v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'>`)."
)


# What a permit write answers besides 202 (errors are added to every /v1 route).
_REPEAT: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same content again: nothing new (`duplicate`, `unchanged`)"}
}


async def _verified(request: Request) -> tuple[bytes, Delivery]:
    """The body and who sent it (a configured source of kind `permits`)."""
    runtime = runtime_of(request)
    received = await webhooks.receive(request, runtime.settings.hub.sources, "permits")
    delivery = Delivery(
        source_id=received.source.id,
        webhook_id=received.headers["webhook-id"],
        event_source=runtime.source,
        aliases=dict(received.source.division_aliases),
        body_hash=hashlib.sha256(received.body).hexdigest(),
    )
    return received.body, delivery


async def _signed_permit(request: Request) -> tuple[PermitIn, Delivery]:
    """The one permit a signed JSON body holds, validated."""
    body, delivery = await _verified(request)
    require_media_type(request, "application/json")
    return service.validate_permit(parse_json(body), delivery), delivery


async def _once(
    request: Request,
    delivery: Delivery,
    work: Callable[[UnitOfWork], Awaitable[Answer]],
    lookups: Sequence[Lookup] = (),
) -> JSONResponse:
    """`work` in a shared transaction, answered once committed; a repeated webhook-id gets
    the first answer."""
    runtime = runtime_of(request)
    answer = await runtime.writes.run(
        lambda uow: service.once(uow, delivery, work),
        lookups=[service.receipt_lookup(delivery), *lookups],
    )
    return JSONResponse(answer.body, status_code=answer.status_code)


async def _write_permit(
    request: Request,
    permit: PermitIn,
    delivery: Delivery,
    write: Callable[[UnitOfWork, PermitIn, Delivery], Awaitable[Answer]],
) -> JSONResponse:
    return await _once(
        request,
        delivery,
        lambda uow: write(uow, permit, delivery),
        [service.permit_lookup(permit.permit_no)],
    )


# The two one-permit routes are alike in shape by design: each names its method, path,
# summary and write; what they share is in _signed_permit and _write_permit.
@router.post(
    "/permits",
    status_code=202,
    responses=_REPEAT,
    summary="Receive a construction permit",
    description=_SIGNED,
    openapi_extra=json_body(PermitIn),
)
async def post_permit(request: Request) -> JSONResponse:
    permit, delivery = await _signed_permit(request)
    return await _write_permit(request, permit, delivery, service.accept_permit)


@router.put(
    "/permits/{permit_no}",
    status_code=202,
    responses=_REPEAT,
    summary="Amend a permit",
    description=_SIGNED,
    openapi_extra=json_body(PermitIn),
)
async def put_permit(permit_no: str, request: Request) -> JSONResponse:
    permit, delivery = await _signed_permit(request)
    if permit.permit_no != permit_no.strip():
        raise Unprocessable(
            "the body's permit_no differs from the path",
            [{"loc": ["body", "permit_no"], "msg": f"must equal {permit_no}"}],
        )
    return await _write_permit(request, permit, delivery, service.amend_permit)


@router.post(
    "/permits:batch",
    summary="Receive permits as NDJSON, one a line, answered per line",
    description=_SIGNED + " The signature covers the whole body.",
    openapi_extra=raw_body("application/x-ndjson", "one permit (JSON) a line"),
)
async def post_batch(request: Request) -> JSONResponse:
    body, delivery = await _verified(request)
    require_media_type(request, "application/x-ndjson")
    runtime = runtime_of(request)
    most = runtime.settings.hub.ingest.batch_max_lines
    if body.count(b"\n", 0, len(body) - 1) >= most:  # a final newline ends the last line
        raise PayloadTooLarge(f"a batch may hold at most {most} lines")
    return await _once(
        request,
        delivery,
        lambda uow: service.accept_batch(uow, body, delivery),
        service.batch_lookups(body),
    )
