"""The coverage rules as pure functions: identifiers first, then names within the contractor."""

from __future__ import annotations

from datetime import date

from enrollment.matching.names import name_key
from enrollment.matching.rules import (
    EnrollmentFacts,
    PermitFacts,
    active_on,
    permit_coverage,
    project_match,
)

CONTRACTOR = "91370812MA3L12T073"
PERMIT = PermitFacts(
    "370811202103150101",
    "2103-370811-04-01-123456",
    name_key("任城区运河花园3#楼"),
    CONTRACTOR,
    "任城区运河花园3#楼",
)


def project(
    eid: str,
    name: str | None,
    *,
    permit_no: str | None = None,
    code: str | None = None,
    employer: str = CONTRACTOR,
    terminated: date | None = None,
) -> EnrollmentFacts:
    return EnrollmentFacts(
        eid, "project", permit_no, code, name_key(name) if name else None, employer,
        date(2021, 3, 10), None, terminated, name,
    )  # fmt: skip


def test_permit_number_decides_before_names() -> None:
    match = project_match(project("SI-1", "别的名字", permit_no=PERMIT.permit_no), PERMIT)
    assert match is not None and match.by == "permit_no"


def test_name_variant_of_same_contractor_covers_with_score_and_reason() -> None:
    match = project_match(project("SI-2", "山东省济宁市任城区运河花园（3号楼）"), PERMIT)
    assert match is not None and match.by == "name"
    assert 0.85 <= match.score <= 1.0
    assert "得分" in match.explain() and match.reason


def test_other_building_of_same_estate_does_not_cover() -> None:
    assert project_match(project("SI-3", "任城区运河花园5#楼"), PERMIT) is None


def test_same_name_of_another_contractor_does_not_cover() -> None:
    other = project("SI-4", "任城区运河花园3#楼", employer="91370811MA3AY4C041")
    assert project_match(other, PERMIT) is None


def test_mistyped_permit_number_falls_back_to_the_name() -> None:
    typo = project("SI-5", "任城区运河花园3#楼", permit_no="370811202103150110")
    match = project_match(typo, PERMIT)
    assert match is not None and match.by == "name"


def test_threshold_is_configurable() -> None:
    """A same-sound slip (运和 for 运河) scores 0.875: covered at 0.85, not at 0.9."""
    variant = project("SI-6", "任城区运和花园3#楼")
    day = date(2021, 6, 1)
    (loose,) = permit_coverage([variant], PERMIT, day, threshold=0.85)
    assert 0.85 <= loose.score < 0.9
    assert permit_coverage([variant], PERMIT, day, threshold=0.9) == []


def test_identifier_matches_rank_before_name_matches() -> None:
    by_name = project("SI-0", "任城区运河花园3#楼")
    by_number = project("SI-9", None, permit_no=PERMIT.permit_no)
    matches = permit_coverage([by_name, by_number], PERMIT, date(2021, 6, 1))
    assert [m.enrollment_id for m in matches] == ["SI-9", "SI-0"]


def test_terminated_project_enrollment_stops_covering_after_its_end() -> None:
    ended = project("SI-7", None, permit_no=PERMIT.permit_no, terminated=date(2021, 5, 31))
    assert permit_coverage([ended], PERMIT, date(2021, 5, 31))
    assert permit_coverage([ended], PERMIT, date(2021, 6, 1)) == []


def test_employer_enrollment_active_window() -> None:
    e = EnrollmentFacts("SI-E", "employer", None, None, None, CONTRACTOR,
                        date(2021, 1, 1), date(2021, 12, 31), None)  # fmt: skip
    assert not active_on(e, date(2020, 12, 31))
    assert active_on(e, date(2021, 1, 1)) and active_on(e, date(2021, 12, 31))
    assert not active_on(e, date(2022, 1, 1))


def test_enrollment_for_another_permit_of_the_same_name_does_not_cover() -> None:
    other_permit = project("SI-8", "任城区运河花园3#楼", permit_no="370811202106200303")
    assert project_match(other_permit, PERMIT) is None
