"""Operators' view of outbox rows the relay parked as unpublishable (hub_shared.messaging.outbox).

Every service serves it; the payload stays out of the answer (it may hold personal data).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select

from hub_shared.messaging.outbox import OutboxMessage
from hub_shared.runtime import ServiceRuntime
from hub_shared.web.auth import ADMIN, CurrentPrincipal

router = APIRouter(prefix="/v1/admin/outbox", tags=["admin"])


class ParkedEvent(BaseModel):
    event_id: str
    topic: str
    type: str
    key: str | None
    created_at: datetime
    parked_at: datetime
    reason: str
    payload_bytes: int


class ParkedEvents(BaseModel):
    items: list[ParkedEvent]


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=moment.tzinfo or UTC)


@router.get("/parked", response_model=ParkedEvents)
async def list_parked(
    request: Request,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Events that can never be published, oldest first. Scope `admin`."""
    principal.require(ADMIN)
    runtime: ServiceRuntime = request.app.state.runtime
    query = (
        select(OutboxMessage, func.length(col(OutboxMessage.payload)))
        .where(col(OutboxMessage.parked_at).is_not(None))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    async with runtime.sessions() as session:
        rows = (await session.exec(query)).all()
    items = [
        ParkedEvent(
            event_id=row.event_id,
            topic=row.topic,
            type=row.ce_type,
            key=row.key,
            created_at=_aware(row.created_at),
            parked_at=_aware(row.parked_at or row.created_at),
            reason=row.parked_reason or "",
            payload_bytes=int(size),
        )
        for row, size in rows
    ]
    return {"items": items}
