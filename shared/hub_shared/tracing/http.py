"""A server span for every HTTP request, continuing the caller's `traceparent` (W3C trace
context) or starting a trace. Installed only while tracing is on."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer
from starlette.types import ASGIApp, Receive, Scope, Send

from hub_shared.tracing.context import span, use_tracer
from hub_shared.web.asgi import NotedStatus, route_template


# The plain-ASGI preamble is alike in shape to metrics.py's and security_headers.py's
# by design (hub_shared.web.asgi says why plain ASGI).
class TraceRequests:
    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self._app = app
        self._tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        use_tracer(self._tracer)  # this request's task only
        incoming = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"traceparent"), None
        )
        with span(scope["method"], traceparent=incoming, kind=SpanKind.SERVER):
            status = NotedStatus(send)
            try:
                await self._app(scope, receive, status)
            finally:
                current = trace.get_current_span()
                route = route_template(scope)
                if route:
                    current.update_name(f"{scope['method']} {route}")
                current.set_attribute("http.response.status_code", status.code)
