"""The office dashboard (server-rendered Jinja2 + htmx, charts with ECharts, all served
from this package): sign in with the office token, open alerts of its divisions with
filters, an alert's details and delivery log, acknowledge and dismiss, live arrivals.

Signing in opens a server-side session (hub_shared.web.web_sessions): the browser holds its
opaque id, never the token, in an HttpOnly, SameSite=Strict cookie scoped to /dashboard
(Secure behind https); signing out deletes the session. Page scripts never see the
cookie, other sites cannot send it, and the browser's EventSource carries it to the live
stream (EventSource cannot send an Authorization header). Actions also need htmx's
HX-Request header, which a plain cross-site form cannot set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sse_starlette import EventSourceResponse

from hub_shared.web.auth import Principal, TokenRegistry, client_address
from hub_shared.web.dependencies import runtime_of
from hub_shared.web.errors import Conflict, RateLimited, Unauthorized
from hub_shared.web.web_sessions import open_session, resolve, revoke, secure_cookies
from notifier.delivery.log import delivery_log
from notifier.inbox import dashboard_data as view
from notifier.inbox import service as inbox
from notifier.inbox import sign_in_guard
from notifier.inbox.alert_state import alert_json
from notifier.inbox.stream import AlertFeed, alert_changes
from notifier.inbox.stream_limits import holding

HERE = Path(__file__).parents[1]  # the notifier package: templates/ and static/
COOKIE = "hub_office_session"
SESSION_SECONDS = 8 * 3600
router = APIRouter(prefix="/dashboard", include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(
    local_time=view.local_time,
    division_zh=view.division_zh,
    kind_zh=lambda k: view.KIND_ZH.get(k, k),
    status_zh=lambda s: view.STATUS_ZH.get(s, s),
    delivery_zh=lambda s: view.DELIVERY_ZH.get(s, s),
)


def mount_static(app: FastAPI) -> None:
    app.mount("/dashboard/static", StaticFiles(directory=HERE / "static"), name="dashboard")


class SignInNeeded(Exception):
    """No valid session cookie: pages redirect to sign-in, fragments tell htmx to."""


async def _signed_in(request: Request) -> Principal:
    """The principal of the session cookie (an opaque id, see hub_shared.web.web_sessions)."""
    registry: TokenRegistry = request.app.state.tokens
    opaque = request.cookies.get(COOKIE)
    principal = await resolve(runtime_of(request).sessions, registry, opaque, "session")
    if principal is None or not principal.holds("alerts:read"):
        raise SignInNeeded
    return principal


async def _action(request: Request) -> Principal:
    """A state change: signed in, and sent by htmx (no cross-site form can be)."""
    principal = await _signed_in(request)
    if request.headers.get("hx-request") != "true":
        raise SignInNeeded
    principal.require("alerts:ack")
    return principal


SignedIn = Annotated[Principal, Depends(_signed_in)]
Acting = Annotated[Principal, Depends(_action)]


async def sign_in_needed(request: Request, _exc: Exception) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": "/dashboard/login"})
    return RedirectResponse("/dashboard/login", status_code=303)


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _login_page(request: Request, status: int = 200, error: str | None = None) -> HTMLResponse:
    """The sign-in form with a fresh anti-forgery value, in the form and in its cookie."""
    value = sign_in_guard.new_value()
    page = _page(request, "login.html", status, error=error, csrf=value)
    sign_in_guard.issue(request, page, value)
    return page


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    registry: TokenRegistry = request.app.state.tokens
    client = client_address(request)
    try:
        registry.sign_ins.check(client)
        registry.sign_ins.record(client)
        if not sign_in_guard.genuine(request, form):
            return _login_page(request, 403, error="登录表单已失效, 请重新输入令牌")
        principal = registry.authenticate(f"Bearer {token}", client)
    except RateLimited as exc:
        page = _login_page(request, 429, error="尝试次数过多, 请稍后再试")
        page.headers.update(exc.headers or {})
        return page
    except Unauthorized:
        return _login_page(request, 401, error="令牌无效, 请检查后重新输入")
    if not principal.holds("alerts:read"):
        return _login_page(request, 403, error="此令牌无权查看预警")
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        COOKIE,
        await open_session(runtime_of(request).sessions, principal),
        max_age=SESSION_SECONDS,
        path="/dashboard",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    response.delete_cookie(sign_in_guard.CSRF_COOKIE, path="/dashboard")
    return response


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    """Ends the session on the server: the cookie's id no longer signs anyone in."""
    await revoke(runtime_of(request).sessions, request.cookies.get(COOKIE))
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


@router.get("")
async def home(request: Request, principal: SignedIn) -> HTMLResponse:
    return _page(
        request,
        "dashboard.html",
        principal=principal,
        divisions=view.divisions_of(principal),
        kinds=view.kinds_of(principal),
        statuses=view.STATUS_ZH,
        kind_names=view.KIND_ZH,
    )


@router.get("/alerts")
async def rows(
    request: Request,
    principal: SignedIn,
    status: str = "",
    kind: str = "",
    division_code: str = "",
    cursor: str = "",
) -> HTMLResponse:
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        page = await inbox.list_alerts(
            session,
            principal=principal,
            status=status or None,
            kind=kind or None,
            division_code=division_code or None,
            cursor=cursor or None,
            limit=50,
        )
    filters = {"status": status, "kind": kind, "division_code": division_code}
    return _page(request, "_rows.html", alerts=page["items"], next_cursor=page["next_cursor"],
                 filters=filters)  # fmt: skip


async def _detail(request: Request, principal: Principal, alert_id: str, **extra: Any) -> Any:
    async with runtime_of(request).sessions() as session:
        row = await inbox.get_visible(session, principal=principal, alert_id=alert_id)
        offices = [principal.id] if principal.kind == "office" else None
        log = await delivery_log(session, alert_id=alert_id, office_ids=offices)
    can_act = principal.holds("alerts:ack")
    return _page(request, "_detail.html", alert=alert_json(row), deliveries=log,
                 can_act=can_act, **extra)  # fmt: skip


@router.get("/alerts/{alert_id}")
async def detail(request: Request, principal: SignedIn, alert_id: str) -> Any:
    return await _detail(request, principal, alert_id)


@router.post("/alerts/{alert_id}/ack")
async def ack(request: Request, principal: Acting, alert_id: str) -> Any:
    runtime = runtime_of(request)
    _alert, changed = await runtime.writes.run(
        lambda uow: inbox.acknowledge(
            uow.session, principal=principal, alert_id=alert_id, source=runtime.source
        )
    )
    return await _changed(request, principal, alert_id, changed)


@router.post("/alerts/{alert_id}/dismiss")
async def dismiss(request: Request, principal: Acting, alert_id: str) -> Any:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    reason = (form.get("reason") or [""])[0].strip()[:500]
    if not reason:
        return await _detail(request, principal, alert_id, error="请填写忽略原因")
    runtime = runtime_of(request)
    try:
        _alert, changed = await runtime.writes.run(
            lambda uow: inbox.dismiss(
                uow.session, principal=principal, alert_id=alert_id, reason=reason,
                source=runtime.source,
            )
        )  # fmt: skip
    except Conflict:
        return await _detail(request, principal, alert_id, error="只有未处理的预警可以忽略")
    return await _changed(request, principal, alert_id, changed)


async def _changed(request: Request, principal: Principal, alert_id: str, changed: bool) -> Any:
    if changed:  # the group commit has woken the outbox relay
        feed: AlertFeed = request.app.state.alert_feed
        feed.changed()
    response = await _detail(request, principal, alert_id)
    response.headers["HX-Trigger"] = "alerts-changed"
    return response


@router.get("/charts.json")
async def charts(request: Request, principal: SignedIn) -> JSONResponse:
    async with runtime_of(request).sessions() as session:
        return JSONResponse(await view.chart_data(session, principal))


@router.get("/stream", response_model=None)
async def stream(request: Request, principal: SignedIn) -> EventSourceResponse:
    """The live stream of GET /v1/alerts/stream, signed in by the cookie."""
    runtime = runtime_of(request)
    feed: AlertFeed = request.app.state.alert_feed
    slot = request.app.state.stream_slots.take(principal.id)
    events = alert_changes(sessions=runtime.sessions, feed=feed, principal=principal, since=None)
    return EventSourceResponse(
        holding(slot, events), ping=15, headers={"Cache-Control": "no-store"}
    )


def install(app: FastAPI) -> None:
    """Static files and the sign-in redirect."""
    mount_static(app)
    app.add_exception_handler(SignInNeeded, sign_in_needed)
