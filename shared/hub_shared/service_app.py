"""The FastAPI app every service builds: lifespan, errors, limits, health, metrics, auth."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from hub_shared.audit import api as audit_api
from hub_shared.audit.middleware import AuditExchanges
from hub_shared.messaging.outbox_admin import router as outbox_admin
from hub_shared.metrics import instrument
from hub_shared.runtime import ServiceRuntime
from hub_shared.tracing.http import TraceRequests
from hub_shared.web.auth import TokenRegistry
from hub_shared.web.errors import install_error_handlers, problem
from hub_shared.web.http import BodyLimit
from hub_shared.web.openapi_docs import documented
from hub_shared.web.security_headers import SecurityHeaders


def build_app(
    *,
    title: str,
    description: str,
    runtime: ServiceRuntime,
    routers: Sequence[APIRouter],
    state: dict[str, Any] | None = None,
    on_start: Sequence[Callable[[], Any]] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        for hook in on_start:
            await hook()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.settings = runtime.settings
    app.state.tokens = TokenRegistry(runtime.settings.hub)
    for key, value in (state or {}).items():
        setattr(app.state, key, value)
    install_error_handlers(app)
    instrument(app, runtime.metrics)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    if runtime.tracer is not None:  # tracing off: not even the middleware
        app.add_middleware(TraceRequests, tracer=runtime.tracer)
    app.add_middleware(
        AuditExchanges,
        trail=runtime.audit,
        tokens=app.state.tokens,
        sources=frozenset(s.id for s in runtime.settings.hub.sources),
    )

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "service": runtime.settings.service}

    @app.get("/readyz", tags=["operations"], response_model=None)
    async def readyz() -> JSONResponse | dict[str, Any]:
        """200 only when the database and Kafka answer and every consumer is running."""
        checks = await runtime.readiness()
        if all(checks.values()):
            return {"status": "ready", "checks": checks}
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        return problem(503, "Not ready", f"not ready: {failing}", slug="not-ready")

    for router in (*routers, audit_api.router, outbox_admin):
        app.include_router(router)
    app.openapi = lambda: documented(app)  # type: ignore[method-assign]
    return app
