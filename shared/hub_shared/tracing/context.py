"""The current service's tracer and trace context, and the few operations the hub needs:
the current `traceparent`, a span continuing a `traceparent`, work bound to the caller's
context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TypeVar

from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

T = TypeVar("T")
A = TypeVar("A")
_tracer: ContextVar[Tracer | None] = ContextVar("hub_tracer", default=None)
_propagator = TraceContextTextMapPropagator()


def use_tracer(tracer: Tracer | None) -> Token[Tracer | None]:
    """Make `tracer` the current service's (tasks created afterwards inherit it)."""
    return _tracer.set(tracer)


def active() -> bool:
    return _tracer.get() is not None


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span; None when tracing is off or no span."""
    if _tracer.get() is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def _context_of(traceparent: str | None) -> otel_context.Context | None:
    return _propagator.extract({"traceparent": traceparent}) if traceparent else None


@contextmanager
def span(
    name: str, *, traceparent: str | None = None, kind: SpanKind = SpanKind.INTERNAL
) -> Iterator[str | None]:
    """A span, child of `traceparent` when given (else of the current span), current
    while the block runs; yields its own `traceparent` (None when tracing is off)."""
    tracer = _tracer.get()
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(name, context=_context_of(traceparent), kind=kind):
        yield current_traceparent()


@contextmanager
def continuing(traceparent: str | None) -> Iterator[None]:
    """Make `traceparent` the current context while the block runs (without a span of its
    own), so that what the block stages (outbox rows) carries it."""
    if _tracer.get() is None or not traceparent:
        yield
        return
    context = _context_of(traceparent)
    assert context is not None
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


def bound(work: Callable[[A], Awaitable[T]]) -> Callable[[A], Awaitable[T]]:
    """`work`, to run in another task (a group commit) under the caller's trace context."""
    tracer = _tracer.get()
    if tracer is None:
        return work
    context = otel_context.get_current()

    async def in_context(argument: A) -> T:
        token = otel_context.attach(context)
        try:
            return await work(argument)
        finally:
            otel_context.detach(token)

    return in_context
