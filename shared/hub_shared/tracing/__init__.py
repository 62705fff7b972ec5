"""Tracing across Kafka: W3C trace context enters with an HTTP request (or starts there),
rides in outbox rows and in the CloudEvents distributed-tracing extension of every Kafka
record (`ce_traceparent`) and in every outbound webhook (`traceparent`), and spans are
exported with OpenTelemetry (OTLP) when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Off (the default) it costs nothing: no tracer exists, every helper here returns at its
first line, no header is written and no middleware is installed.

Each service has its own tracer (its `service.name`), carried in a context variable: the
runtime sets it before starting its background tasks, the request middleware for each
request, so several services in one process (the tests) keep their spans apart."""

from hub_shared.tracing.context import (
    active,
    bound,
    continuing,
    current_traceparent,
    span,
    use_tracer,
)
from hub_shared.tracing.setup import make_tracer, span_processors

__all__ = [
    "active",
    "bound",
    "continuing",
    "current_traceparent",
    "make_tracer",
    "span",
    "span_processors",
    "use_tracer",
]
