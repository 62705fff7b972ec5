"""CloudEvents 1.0 in Kafka binary mode (docs/interfaces.md §9), through the cloudevents SDK."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from hub_shared import clock
from hub_shared.messaging.topics import event_name, event_type

_FORMAT = JSONFormat()
Headers = list[tuple[str, bytes]]


class MalformedEvent(ValueError):
    """A record that is not a CloudEvent this hub can read; it goes to the dead-letter topic."""


@dataclass(frozen=True)
class Envelope:
    """One event with its CloudEvents attributes; `data` is the JSON payload."""

    type: str
    source: str
    data: Mapping[str, Any]
    key: str | None = None
    subject: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=clock.now)
    # W3C trace context (CloudEvents distributed-tracing extension); None when untraced.
    traceparent: str | None = None

    @property
    def name(self) -> str:
        """The event name without the type prefix, e.g. `permit.issued`."""
        return event_name(self.type)

    @classmethod
    def new(
        cls,
        name: str,
        *,
        source: str,
        data: Mapping[str, Any],
        key: str | None,
        subject: str | None = None,
    ) -> Envelope:
        return cls(type=event_type(name), source=source, data=data, key=key, subject=subject)


def encode(envelope: Envelope) -> tuple[bytes | None, bytes, Headers]:
    """Key, value and headers of the Kafka record for an envelope."""
    attributes: dict[str, Any] = {
        "id": envelope.id,
        "source": envelope.source,
        "type": envelope.type,
        "time": envelope.time,
        "datacontenttype": "application/json",
    }
    if envelope.subject is not None:
        attributes["subject"] = envelope.subject
    if envelope.traceparent is not None:
        attributes["traceparent"] = envelope.traceparent  # the ce_traceparent header
    message = ce_kafka.to_binary(
        CloudEvent(attributes=attributes, data=dict(envelope.data)),
        _FORMAT,
        key_mapper=lambda _event: envelope.key,
    )
    value = json.dumps(envelope.data, ensure_ascii=False, separators=(",", ":")).encode()
    key = envelope.key.encode() if envelope.key is not None else None
    return key, value, list(message.headers.items())


def decode(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> Envelope:
    """The envelope of a Kafka record; raises MalformedEvent when it is not one of ours.

    Read from the binary-mode headers and the JSON value directly: a consumer decodes every
    record it reads, and the SDK's event objects cost ten times as much (`encode` writes
    records with the SDK, so both ends follow it).
    """
    found = dict(headers)
    if found.get("ce_specversion") != b"1.0":
        raise MalformedEvent("not a CloudEvents 1.0 binary-mode record")
    content_type = found.get("content-type", b"application/json").split(b";")[0].strip()
    if content_type != b"application/json":
        raise MalformedEvent(f"content type {content_type!r} is not JSON")
    try:
        event_id, source, type_ = (found[h].decode() for h in ("ce_id", "ce_source", "ce_type"))
        time = datetime.fromisoformat(found["ce_time"].decode())
        subject = found["ce_subject"].decode() if "ce_subject" in found else None
        traceparent = found["ce_traceparent"].decode() if "ce_traceparent" in found else None
        data = json.loads(value or b"")
    except (KeyError, UnicodeDecodeError, ValueError) as exc:
        raise MalformedEvent(f"not a CloudEvents binary-mode record: {exc!r}") from exc
    if not (event_id and source and type_):
        raise MalformedEvent("event has an empty id, source or type")
    if time.tzinfo is None:
        raise MalformedEvent("event time has no offset")
    if not isinstance(data, dict):
        raise MalformedEvent("event data is not a JSON object")
    return Envelope(
        id=event_id,
        type=type_,
        source=source,
        subject=subject,
        time=time,
        key=key.decode() if key is not None else None,
        data=data,
        traceparent=traceparent,
    )
