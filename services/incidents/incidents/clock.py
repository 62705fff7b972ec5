"""Time rules of the service: Beijing time for calendar dates, UTC for stored instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Final

# China Standard Time has had no daylight saving since 1991: a fixed offset is exact and
# needs no tz database on the host.
BEIJING: Final = timezone(timedelta(hours=8), "CST")
# Clocks of reporting systems drift; an instant this far ahead of ours is still "now".
CLOCK_SKEW: Final = timedelta(minutes=5)


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """Today's date in Beijing (dates in reports and requests are local dates)."""
    return datetime.now(BEIJING).date()


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive values (as SQLite returns them) are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def local_date(moment: datetime) -> date:
    """The Beijing calendar date of an instant (naive instants are taken as UTC)."""
    return as_utc(moment).astimezone(BEIJING).date()


def end_of_day(day: date) -> datetime:
    """The last instant of a Beijing calendar day, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), BEIJING).astimezone(UTC) - timedelta(
        microseconds=1
    )
