"""A service's tracer: OTLP over HTTP when an endpoint is configured, plus any span
processors added here beforehand (the tests add an in-memory exporter's)."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer

span_processors: list[SpanProcessor] = []


def make_tracer(service: str, endpoint: str | None) -> tuple[Tracer | None, TracerProvider | None]:
    """The service's tracer and its provider (to shut down), or (None, None) when tracing
    is off: no endpoint and no extra processor."""
    if not endpoint and not span_processors:
        return None, None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
    for processor in span_processors:
        provider.add_span_processor(processor)
    return provider.get_tracer("hub"), provider
