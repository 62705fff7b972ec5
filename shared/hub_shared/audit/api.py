"""`GET /v1/audit`: the service's audit trail for an operator (scope `admin`), as JSON or
CSV, filtered by client, operation and period, a page at a time (cursor = last `seq`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from hub_shared.audit.export import AuditFilter, as_csv, page
from hub_shared.web.auth import CurrentPrincipal
from hub_shared.web.errors import BadRequest

router = APIRouter(prefix="/v1", tags=["operations"])


def _utc_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise BadRequest("since and until need a time zone, e.g. 2026-12-01T00:00:00Z")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 lies before year 1 in UTC
        raise BadRequest("since and until must fall within the years 1 to 9999 in UTC") from None
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cursor(raw: str | None) -> int:
    if raw is None:
        return 0
    if not (raw.isascii() and raw.isdigit()):  # "³".isdigit() too, and int() refuses it
        raise BadRequest("cursor must be the next_cursor of a previous page")
    return int(raw)


@router.get(
    "/audit",
    response_model=None,
    responses={
        200: {
            "description": "A page of entries: JSON, or CSV with X-Next-Cursor",
            "content": {"application/json": {}, "text/csv": {}},
        }
    },
)
async def audit_trail(
    request: Request,
    principal: CurrentPrincipal,
    client: Annotated[str | None, Query(max_length=128)] = None,
    operation: Annotated[str | None, Query(max_length=160)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    format: Literal["json", "csv"] = "json",
) -> Response | dict[str, Any]:
    """Audit entries in chain order: who, what (operation, route ids, SHA-256 of the body
    exchanged), when, the outcome, and both hashes of the chain. Scope `admin`."""
    principal.require("admin")
    wanted = AuditFilter(
        actor=client,
        operation=operation,
        since=_utc_text(since),
        until=_utc_text(until),
        after_seq=_cursor(cursor),
    )
    entries, next_cursor = await page(request.app.state.runtime.engine, wanted, limit=limit)
    if format == "csv":
        headers = {"X-Next-Cursor": str(next_cursor)} if next_cursor else {}
        return Response(as_csv(entries), media_type="text/csv; charset=utf-8", headers=headers)
    return {"items": entries, "next_cursor": str(next_cursor) if next_cursor else None}
