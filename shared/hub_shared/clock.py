"""The hub's one clock: instants are UTC, calendar dates are Beijing dates.

Everything that asks "what day is it" (an enrollment in force today, a birth date in the
future, the current report year) reads the date here, so that between 00:00 and 08:00
Beijing time no service judges by yesterday's UTC date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

# China Standard Time (no daylight saving since 1991); the tzdata package backs it on hosts
# without a time-zone database.
BEIJING: Final = ZoneInfo("Asia/Shanghai")
# Clocks of reporting systems drift; an instant this far ahead of ours is still "now".
CLOCK_SKEW: Final = timedelta(minutes=5)


def now() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in Beijing."""
    return local_date(now())


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive values (as SQLite returns them) are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def in_beijing(moment: datetime) -> datetime:
    """The instant on Beijing's wall clock (naive instants are taken as UTC)."""
    return as_utc(moment).astimezone(BEIJING)


def local_date(moment: datetime) -> date:
    """The Beijing calendar date of an instant (naive instants are taken as UTC)."""
    return in_beijing(moment).date()


def end_of_day(day: date) -> datetime:
    """The last instant of a Beijing calendar day, in UTC."""
    midnight = datetime.combine(day + timedelta(days=1), time(0), BEIJING)
    return midnight.astimezone(UTC) - timedelta(microseconds=1)
