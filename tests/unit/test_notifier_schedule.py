"""Pure delivery rules of the notifier: retry schedule, jitter, Retry-After, routing by
division, and which alert state wins when events arrive out of order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from hub_shared.config import OfficeConfig
from hub_shared.domain.divisions import county_codes
from notifier.delivery.schedule import (
    MAX_RETRY_AFTER_SECONDS,
    is_older,
    offices_for,
    parse_retry_after,
    retry_delay,
    webhook_offices_for,
)

SCHEDULE = (5.0, 30.0, 120.0)
NOW = datetime(2021, 3, 16, 9, 30, tzinfo=UTC)


def office(office_id: str, *divisions: str, webhook: bool = True) -> OfficeConfig:
    return OfficeConfig(
        id=office_id,
        divisions=divisions,
        webhook_url=f"http://127.0.0.1:9/{office_id}" if webhook else None,
        webhook_secret=SecretStr("whsec_dGVzdC1vZmZpY2Utc2VjcmV0LTAxMjM0NTY3ODk=")
        if webhook
        else None,
        token=SecretStr(f"token-{office_id}"),
    )


# --- retry schedule and jitter ---


@pytest.mark.parametrize(("failures", "expected"), [(1, 5.0), (2, 30.0), (3, 120.0)])
def test_each_failure_waits_its_schedule_entry_without_jitter(
    failures: int, expected: float
) -> None:
    assert retry_delay(failures, SCHEDULE, jitter_ratio=0) == expected


def test_the_schedule_is_exhausted_after_as_many_failures_as_entries_plus_one() -> None:
    assert retry_delay(len(SCHEDULE), SCHEDULE, jitter_ratio=0) is not None
    assert retry_delay(len(SCHEDULE) + 1, SCHEDULE, jitter_ratio=0) is None


def test_retry_delay_is_only_asked_after_a_failure() -> None:
    with pytest.raises(ValueError, match="at least one failure"):
        retry_delay(0, SCHEDULE, jitter_ratio=0)


def test_jitter_stays_within_the_ratio_and_actually_varies() -> None:
    rng = random.Random(7)
    delays = [retry_delay(2, SCHEDULE, jitter_ratio=0.1, rng=rng) for _ in range(500)]
    assert all(d is not None and 27.0 <= d <= 33.0 for d in delays)
    assert len({round(d or 0, 6) for d in delays}) > 400
    assert min(d or 0 for d in delays) < 28.0 < 32.0 < max(d or 0 for d in delays)


def test_retry_after_wins_when_it_asks_for_longer() -> None:
    assert retry_delay(1, SCHEDULE, jitter_ratio=0, retry_after=60) == 60.0


def test_retry_after_shorter_than_the_schedule_does_not_hurry_the_retry() -> None:
    assert retry_delay(2, SCHEDULE, jitter_ratio=0, retry_after=1) == 30.0


def test_retry_after_is_capped_at_a_day() -> None:
    delay = retry_delay(1, SCHEDULE, jitter_ratio=0, retry_after=10 * MAX_RETRY_AFTER_SECONDS)
    assert delay == MAX_RETRY_AFTER_SECONDS


def test_retry_after_does_not_extend_an_exhausted_schedule() -> None:
    assert retry_delay(4, SCHEDULE, jitter_ratio=0, retry_after=10) is None


# --- Retry-After parsing ---


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Tue, 16 Mar 2021 09:31:00 GMT", 60.0),
        ("Tuesday, 16-Mar-21 09:32:00 GMT", 120.0),  # RFC 850, still valid to receive
        ("Tue Mar 16 09:30:30 2021", 30.0),  # asctime
        ("Tue, 16 Mar 2021 09:00:00 GMT", 0.0),  # in the past: retry now
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "1.5", "Tue, 99 Foo 2021", "\u00b2"])
def test_unreadable_retry_after_is_ignored(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


# --- routing by division ---


def test_the_city_office_gets_every_county_and_a_county_office_only_its_own() -> None:
    city, rencheng, yanzhou = (
        office("city", "370800"),
        office("rencheng", "370811"),
        office("yanzhou", "370812"),
    )
    offices = [city, rencheng, yanzhou]
    for county in county_codes():
        routed = {o.id for o in offices_for(county, offices)}
        expected = {"city"} | {o.id for o in (rencheng, yanzhou) if county in o.divisions}
        assert routed == expected, county
    assert {o.id for o in offices_for("370811", offices)} == {"city", "rencheng"}
    assert {o.id for o in offices_for("370800", offices)} == {"city"}


def test_an_office_of_several_counties_gets_each_of_them() -> None:
    north = office("north", "370830", "370832")
    assert offices_for("370830", [north]) == [north]
    assert offices_for("370832", [north]) == [north]
    assert offices_for("370831", [north]) == []


def test_an_unknown_division_reaches_no_office_not_even_the_city() -> None:
    assert offices_for("110101", [office("city", "370800")]) == []


def test_offices_without_a_webhook_pull_over_rest_and_get_no_delivery() -> None:
    offices = [office("city", "370800", webhook=False), office("rencheng", "370811")]
    assert [o.id for o in webhook_offices_for("370811", offices)] == ["rencheng"]
    assert webhook_offices_for("370812", offices) == []


# --- which state wins ---

EARLY, LATE = NOW, NOW + timedelta(seconds=1)


def test_a_redelivered_raise_after_the_resolve_is_older_even_with_a_later_time() -> None:
    assert is_older(
        incoming_status="open", incoming_time=LATE, stored_status="resolved", stored_time=EARLY
    )


def test_a_resolve_after_the_raise_is_applied_even_with_an_earlier_time() -> None:
    assert not is_older(
        incoming_status="resolved", incoming_time=EARLY, stored_status="open", stored_time=LATE
    )


def test_within_one_status_the_later_event_wins() -> None:
    assert is_older(
        incoming_status="open", incoming_time=EARLY, stored_status="open", stored_time=LATE
    )
    assert not is_older(
        incoming_status="open", incoming_time=LATE, stored_status="open", stored_time=EARLY
    )
    assert not is_older(
        incoming_status="open", incoming_time=EARLY, stored_status="open", stored_time=EARLY
    )


def test_naive_and_aware_times_compare_as_utc() -> None:
    assert is_older(
        incoming_status="open",
        incoming_time=EARLY.replace(tzinfo=None),
        stored_status="open",
        stored_time=LATE,
    )
