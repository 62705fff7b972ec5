"""Office REST (docs/interfaces.md §7) and its extensions: dismiss, a live stream, the delivery
log and an admin redelivery. Routes translate HTTP to calls and back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette import EventSourceResponse

from hub_shared.messaging.events import AlertStatus
from hub_shared.web.auth import CurrentPrincipal
from hub_shared.web.dependencies import RuntimeDep, SessionDep
from hub_shared.web.errors import Conflict, NotFound
from hub_shared.web.http import json_model
from hub_shared.web.openapi_docs import json_body
from notifier.delivery.log import delivery_log, redeliver
from notifier.inbox import service as inbox
from notifier.inbox.alert_state import InboxKind, alert_json
from notifier.inbox.schemas import Dismissal, Redelivery
from notifier.inbox.stream import AlertFeed, alert_changes, parse_last_event_id
from notifier.inbox.stream_limits import StreamSlots, holding

router = APIRouter(prefix="/v1", tags=["alerts"])


def _feed(request: Request) -> AlertFeed:
    feed: AlertFeed = request.app.state.alert_feed
    return feed


FeedDep = Annotated[AlertFeed, Depends(_feed)]


# A thin route: its query parameters are service.list_alerts's, alike in shape by design.
@router.get("/alerts")
async def list_alerts(
    principal: CurrentPrincipal,
    session: SessionDep,
    status: AlertStatus | None = None,
    kind: InboxKind | None = None,
    division_code: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The caller's alerts, newest first; `next_cursor` fetches the next page."""
    principal.require("alerts:read")
    # Keyword arguments passed through, alike in shape to other call sites
    # (incidents.reports.trends).
    return await inbox.list_alerts(
        session,
        principal=principal,
        status=status,
        kind=kind,
        division_code=division_code,
        cursor=cursor,
        limit=limit,
    )


@router.get("/alerts/stream", response_model=None)
async def alert_stream(
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    feed: FeedDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """Server-sent events: `event: alert` with the alert (as GET /v1/alerts/{id} shows it)
    whenever an alert of the caller's divisions is raised, resolved, acknowledged or
    dismissed. Reconnecting with Last-Event-ID resumes after that change."""
    principal.require("alerts:read")
    slots: StreamSlots = request.app.state.stream_slots
    slot = slots.take(principal.id)
    events = alert_changes(
        sessions=runtime.sessions,
        feed=feed,
        principal=principal,
        since=slots.earliest_replay(parse_last_event_id(last_event_id)),
    )
    return EventSourceResponse(
        holding(slot, events), ping=15, headers={"Cache-Control": "no-store"}
    )


@router.get("/alerts/{alert_id}")
async def get_alert(
    alert_id: str, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """One alert; 404 when unknown or outside the caller's divisions."""
    principal.require("alerts:read")
    row = await inbox.get_visible(session, principal=principal, alert_id=alert_id)
    return alert_json(row)


@router.post("/alerts/{alert_id}/ack")
async def acknowledge_alert(
    alert_id: str,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    feed: FeedDep,
) -> dict[str, Any]:
    """Acknowledge an alert (publishes `alert.acknowledged` once); repeating it is harmless."""
    principal.require("alerts:ack")
    alert, changed = await runtime.writes.run(
        lambda uow: inbox.acknowledge(
            uow.session, principal=principal, alert_id=alert_id, source=runtime.source
        )
    )
    if changed:
        feed.changed()
    return alert


@router.post("/alerts/{alert_id}/dismiss", openapi_extra=json_body(Dismissal))
async def dismiss_alert(
    alert_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    feed: FeedDep,
) -> dict[str, Any]:
    """Dismiss an open alert with a reason (status `dismissed`; published as
    `alert.acknowledged` with `dismissed_at`, `dismissed_by`, `dismissal_reason`)."""
    principal.require("alerts:ack")
    body = await json_model(request, Dismissal)
    alert, changed = await runtime.writes.run(
        lambda uow: inbox.dismiss(
            uow.session,
            principal=principal,
            alert_id=alert_id,
            reason=body.reason,
            source=runtime.source,
        )
    )
    if changed:
        feed.changed()
    return alert


@router.get("/alerts/{alert_id}/deliveries")
async def alert_deliveries(
    alert_id: str, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """The webhook deliveries of an alert with every attempt (an office sees its own)."""
    principal.require("alerts:read")
    await inbox.get_visible(session, principal=principal, alert_id=alert_id)
    offices = [principal.id] if principal.kind == "office" else None
    return {
        "alert_id": alert_id,
        "items": await delivery_log(session, alert_id=alert_id, office_ids=offices),
    }


@router.post(
    "/admin/offices/{office_id}/redeliver", tags=["admin"], openapi_extra=json_body(Redelivery)
)
async def redeliver_office(
    office_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Send an office's deliveries created since `since` again (delivered, exhausted or
    disabled ones; same webhook-ids), enabling its endpoint if it was disabled.
    Scope `admin`, over every division of the office."""
    principal.require("admin")
    offices = runtime.settings.hub.offices
    office = next((o for o in offices if o.id == office_id), None)
    if office is None:
        raise NotFound(f"no office {office_id}")
    for division in office.divisions:
        principal.require_division(division)
    body = await json_model(request, Redelivery)
    if not office.webhook_url:
        raise Conflict(f"office {office_id} has no webhook_url: it pulls over REST")
    result = await runtime.writes.run(
        lambda uow: redeliver(uow.session, office=office, since=body.since, offices=offices)
    )
    request.app.state.delivery_worker.notify()
    request.app.state.alert_feed.changed()
    return result
