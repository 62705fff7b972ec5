"""The error for data no rule can ever accept: a bad identifier, an unknown code, an event
the hub has no rule for. A consumer dead-letters it at once; a programming bug (a bare
ValueError or KeyError) is retried instead, so it is never mistaken for bad input."""

from __future__ import annotations


class PermanentEventError(ValueError):
    """The value or event is well-formed but can never be applied (unknown type, impossible
    data). A ValueError, so pydantic validators that raise it report a validation error."""


class InvalidValue(PermanentEventError):
    """A field value that fails its rule (a USCC check character, a division code)."""
