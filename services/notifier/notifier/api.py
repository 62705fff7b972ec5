"""Office REST (CONTRACTS.md §7): routes translate HTTP to service calls and back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.auth import CurrentPrincipal
from hub_shared.events import AlertKind, AlertStatus
from hub_shared.runtime import ServiceRuntime
from notifier import service
from notifier.delivery_store import delivery_log

router = APIRouter(prefix="/v1", tags=["alerts"])


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[ServiceRuntime, Depends(_runtime)]


async def _session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]


@router.get("/alerts")
async def list_alerts(
    principal: CurrentPrincipal,
    session: SessionDep,
    status: AlertStatus | None = None,
    kind: AlertKind | None = None,
    division_code: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The caller's alerts, newest first; `next_cursor` fetches the next page."""
    principal.require("alerts:read")
    return await service.list_alerts(
        session,
        principal=principal,
        status=status,
        kind=kind,
        division_code=division_code,
        cursor=cursor,
        limit=limit,
    )


@router.get("/alerts/{alert_id}")
async def get_alert(
    alert_id: str, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """One alert; 404 when unknown or outside the caller's divisions."""
    principal.require("alerts:read")
    row = await service.get_visible(session, principal=principal, alert_id=alert_id)
    return service.alert_json(row)


@router.post("/alerts/{alert_id}/ack")
async def acknowledge_alert(
    alert_id: str, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Acknowledge an alert (publishes `alert.acknowledged` once); repeating it is harmless."""
    principal.require("alerts:ack")
    async with session.begin():
        alert, changed = await service.acknowledge(
            session, principal=principal, alert_id=alert_id, source=runtime.source
        )
    if changed:
        runtime.relay.notify()
    return alert


@router.get("/alerts/{alert_id}/deliveries")
async def alert_deliveries(
    alert_id: str, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """The webhook deliveries of an alert with every attempt (an office sees its own)."""
    principal.require("alerts:read")
    await service.get_visible(session, principal=principal, alert_id=alert_id)
    offices = [principal.id] if principal.kind == "office" else None
    return {
        "alert_id": alert_id,
        "items": await delivery_log(session, alert_id=alert_id, office_ids=offices),
    }
