"""Pure rules of delivery: who gets an alert, when a failed delivery is tried again, and
whether an alert event is older than the state already held. No I/O here."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from hub_shared import clock
from hub_shared.config import OfficeConfig
from hub_shared.domain.divisions import covers_any

# Retry-After is honoured, but a receiver cannot park a delivery for longer than this.
MAX_RETRY_AFTER_SECONDS = 86400.0

# Status precedence: an alert only moves forward. Dismissal (an office's judgement) ranks
# below resolution (a fact from the matcher): a resolve always wins over a dismissal.
_STATUS_RANK = {"open": 0, "dismissed": 1, "resolved": 2}


def offices_for(division_code: str, offices: Iterable[OfficeConfig]) -> list[OfficeConfig]:
    """Offices that see alerts of a division (the city office sees every county)."""
    return [o for o in offices if covers_any(o.divisions, division_code)]


def webhook_offices_for(division_code: str, offices: Iterable[OfficeConfig]) -> list[OfficeConfig]:
    """Offices that see the division and take webhooks (the others pull over REST)."""
    return [o for o in offices_for(division_code, offices) if o.webhook_url]


def retry_delay(
    failures: int,
    schedule: Sequence[float],
    *,
    jitter_ratio: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait after the `failures`-th failed attempt; None once the schedule is
    exhausted. The schedule entry gets +/- `jitter_ratio` jitter, and a receiver's
    Retry-After wins when it asks for longer."""
    if failures < 1:
        raise ValueError("retry_delay is asked after at least one failure")
    if failures > len(schedule):
        return None
    base = float(schedule[failures - 1])
    spread = base * jitter_ratio
    delay = base + (rng or random).uniform(-spread, spread) if spread > 0 else base
    delay = max(delay, 0.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After (RFC 9110) as seconds from now: delta-seconds or an HTTP date.
    None when absent or unreadable; a date in the past gives 0."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():  # not "²", which float() refuses
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or clock.now())).total_seconds()
    return max(seconds, 0.0)


def status_rank(status: str) -> int:
    return _STATUS_RANK.get(status, 0)


def is_older(
    *,
    incoming_status: str,
    incoming_time: datetime,
    stored_status: str,
    stored_time: datetime,
) -> bool:
    """True when an incoming alert state is older than the stored one and must not
    overwrite it: a lower status (a redelivered raise after the resolve), or the same
    status from an earlier event."""
    incoming_rank, stored_rank = status_rank(incoming_status), status_rank(stored_status)
    if incoming_rank != stored_rank:
        return incoming_rank < stored_rank
    return clock.as_utc(incoming_time) < clock.as_utc(stored_time)
