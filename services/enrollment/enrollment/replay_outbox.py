"""The outbox rows of a replay's alert events, put together from the alert rows themselves.

The writer process builds them (enrollment.replay_write) from the alerts it is sent, so the
reader neither builds nor sends a payload: an alert's event carries its whole state, which
the alert row already holds, its subject and evidence as JSON.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring

from pydantic import TypeAdapter

from enrollment.replay_rows import AlertRow, OutboxRow
from hub_shared.topics import ALERTS, event_type


class _Ids:
    """Random (version 4) UUIDs, drawn from the OS 4,096 at a time and formatted by slicing
    one hex string: one `os.urandom` call and one `uuid.UUID` per id cost more than the
    rest of building an alert."""

    _BATCH = 4096

    def __init__(self) -> None:
        self._pool: list[str] = []

    def __call__(self) -> str:
        if not self._pool:
            self._pool = self._draw()
        return self._pool.pop()

    @classmethod
    def _draw(cls) -> list[str]:
        noise = bytearray(os.urandom(16 * cls._BATCH))
        noise[6::16] = bytes(b & 0x0F | 0x40 for b in noise[6::16])  # version 4
        noise[8::16] = bytes(b & 0x3F | 0x80 for b in noise[8::16])  # RFC 4122 variant
        h = noise.hex()
        return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-{h[i + 12:i + 16]}-{h[i + 16:i + 20]}-"
                f"{h[i + 20:i + 32]}" for i in range(0, len(h), 32)]  # fmt: skip


new_id = _Ids()

_TIME = TypeAdapter(datetime)


@lru_cache(maxsize=64)
def _time_json(value: datetime) -> str:
    """As AlertData writes a time (a rebuild stamps most rows with one `now`)."""
    return _TIME.dump_json(value).decode()


def payload_json(a: AlertRow) -> str:
    """The alert's whole state as alerts.v1 carries it (AlertData's JSON, which a unit test
    holds it equal to), put together in one format string from the row's fields and its own
    JSON columns (subject, evidence): a fraction of the work of a model built and serialized,
    or of a loop over the fields."""
    s, t = encode_basestring, _time_json
    return (
        f'{{"alert_id":{s(a.alert_id)},"kind":{s(a.kind)},"status":{s(a.status)},'
        f'"division_code":{s(a.division_code)},"subject":{a.subject},"reason":{s(a.reason)},'
        f'"evidence":{a.evidence},"raised_at":{t(a.raised_at)},'
        f'"resolved_at":{"null" if a.resolved_at is None else t(a.resolved_at)},'
        f'"resolution":{"null" if a.resolution is None else s(a.resolution)},'
        f'"acknowledged_at":{"null" if a.acknowledged_at is None else t(a.acknowledged_at)},'
        f'"acknowledged_by":{"null" if a.acknowledged_by is None else s(a.acknowledged_by)}}}'
    )


def outbox_rows(
    alerts: Sequence[AlertRow], events: Sequence[str | None], source: str, at: datetime
) -> list[OutboxRow]:
    """The outbox row of each alert whose event is named ("alert.raised", "alert.resolved"),
    as the live matcher stages it: keyed and subjected by the alert id, the alert's state
    as its payload."""
    rows = []
    for alert, name in zip(alerts, events, strict=True):
        if name is not None:
            rows.append(OutboxRow(
                new_id(), ALERTS.name, alert.alert_id, event_type(name), source, alert.alert_id,
                at, payload_json(alert), at, None, None,
            ))  # fmt: skip
    return rows
