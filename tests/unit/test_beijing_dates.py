"""Calendar judgements use the Beijing date: at 02:00 Beijing time it is already the next
day there, while the UTC date is still the day before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from enrollment.matching import driver
from enrollment.matching.rules import (
    EnrollmentFacts,
    PermitFacts,
    employer_coverage,
    permit_coverage,
)
from hub_shared import clock
from hub_shared.domain.identifiers import validate_resident_id

# 2024-03-02 02:00 in Beijing is 2024-03-01 18:00 UTC.
AT_TWO_IN_BEIJING = datetime(2024, 3, 1, 18, 0, tzinfo=UTC)
BEIJING_TODAY, BEIJING_YESTERDAY = date(2024, 3, 2), date(2024, 3, 1)
EMPLOYER = "91370812MA3L12T073"
PERMIT = PermitFacts("370811202103150101", None, "运河花园", EMPLOYER)


@pytest.fixture(autouse=True)
def _two_in_the_morning_in_beijing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(driver, "now", lambda: AT_TWO_IN_BEIJING)
        patch.setattr(clock, "now", lambda: AT_TWO_IN_BEIJING)
        yield


def _enrollment(kind: str, valid_from: date, valid_to: date | None) -> EnrollmentFacts:
    return EnrollmentFacts(
        enrollment_id=f"SI-{kind}",
        kind=kind,
        permit_no=PERMIT.permit_no if kind == "project" else None,
        project_code=None,
        project_name_key=None,
        employer_uscc=EMPLOYER,
        valid_from=valid_from,
        valid_to=valid_to,
        terminated_on=None,
    )


def test_the_shared_clock_gives_the_beijing_date() -> None:
    assert clock.today() == BEIJING_TODAY
    assert clock.local_date(AT_TWO_IN_BEIJING) == BEIJING_TODAY
    assert clock.end_of_day(BEIJING_YESTERDAY) < AT_TWO_IN_BEIJING


def test_the_matcher_judges_an_enrollment_valid_from_today_as_in_force() -> None:
    today = driver.today(driver.now())
    employer = _enrollment("employer", valid_from=BEIJING_TODAY, valid_to=None)

    assert employer_coverage([employer], EMPLOYER, today) == ["SI-employer"]


def test_the_matcher_judges_an_enrollment_ended_yesterday_as_no_longer_in_force() -> None:
    today = driver.today(driver.now())
    ended = _enrollment("project", valid_from=date(2023, 1, 1), valid_to=BEIJING_YESTERDAY)

    assert permit_coverage([ended], PERMIT, today) == []


def _resident_id(birth: date) -> str:
    body = f"370811{birth:%Y%m%d}123"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def test_a_birth_date_is_in_the_future_only_after_the_beijing_date() -> None:
    born_today = _resident_id(BEIJING_TODAY)
    assert validate_resident_id(born_today) == born_today
    with pytest.raises(ValueError, match="in the future"):
        validate_resident_id(_resident_id(date(2024, 3, 3)))
