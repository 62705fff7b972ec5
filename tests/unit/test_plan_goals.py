"""Pure rules of the plan's goals: the rectification record, training coverage, the goals'
judgements and who among the subscribers receives what."""

from __future__ import annotations

from datetime import date

from pydantic import SecretStr

from hub_shared.config import OfficeConfig
from incidents.evaluation.goals import GoalRow, coverage_target
from incidents.inspections.report import FindingFact, InspectionFact, inspection_report
from incidents.training.coverage import RosterFact, coverage_report, trained_digests
from incidents.training.gaps import alert_day
from notifier.delivery.regulators import alert_recipients, permit_recipients

TODAY = date(2024, 6, 30)


def test_findings_are_on_time_late_or_open_and_overdue_past_the_deadline() -> None:
    inspections = [
        InspectionFact("I1", "370811", "E47", date(2024, 1, 5)),
        InspectionFact("I2", "370812", "C26", date(2024, 2, 5)),
        InspectionFact("I3", "370811", "E47", date(2023, 2, 5)),  # another year
    ]
    findings = [
        FindingFact("I1", date(2024, 2, 1), date(2024, 1, 20)),  # on time
        FindingFact("I1", date(2024, 2, 1), date(2024, 3, 1)),  # late
        FindingFact("I2", date(2024, 3, 1), None),  # open, overdue
        FindingFact("I2", date(2024, 9, 1), None),  # open, not yet due
        FindingFact("I3", date(2023, 3, 1), None),
    ]
    report = inspection_report(
        division_code="370800",
        year=2024,
        today=TODAY,
        inspections=inspections,
        findings=findings,
        counties=("370811", "370812"),
    )
    total = report.as_dict()["total"]
    assert (total["inspections"], total["findings"]) == (2, 4)
    assert (total["rectified_on_time"], total["rectified_late"], total["open"]) == (1, 1, 2)
    assert total["overdue"] == 1 and total["on_time_rate"] == round(1 / 3, 4)
    rows = {r["industry"]: r for r in report.as_dict()["rows"]}
    assert rows["construction"]["findings"] == 2 and rows["hazardous_chemicals"]["open"] == 2
    counties = {c["division_code"]: c for c in report.as_dict()["counties"]}
    assert counties["370812"]["overdue"] == 1


def _roster(uscc: str, role: str, person: str, industry: str = "C26") -> RosterFact:
    return RosterFact(uscc, "企业", "370811", industry, role, person, date(2021, 3, 1))


def test_coverage_counts_completions_in_the_plan_period_by_digest() -> None:
    roster = [
        _roster("A", "leader_in_charge", "p1"),
        _roster("A", "team_leader", "p2"),
        _roster("A", "team_leader", "p1"),  # one person, two roles: counted in both
        _roster("B", "team_leader", "p3", industry="F51"),  # not a key industry
    ]
    done = trained_digests([("p1", date(2022, 1, 1)), ("p2", date(2020, 6, 1))], TODAY)
    report = coverage_report(
        division_code="370811", as_of=TODAY, roster=roster, trained=done, counties=("370811",)
    ).as_dict()
    assert {k: report["total"][k] for k in ("key_personnel", "trained", "gap")} == {
        "key_personnel": 3,
        "trained": 2,
        "gap": 1,
    }
    assert [g["uscc"] for g in report["enterprises_with_gaps"]] == ["A"]
    assert report["total"]["coverage"] == round(2 / 3, 4)


def test_goal_judgements_and_the_training_line() -> None:
    assert coverage_target(2020) == 0 and coverage_target(2023) == 0.6
    assert coverage_target(2025) == 1 and coverage_target(2027) == 1
    row = GoalRow("370811", 4.0, 5.0, 4.4, 90.0, 100.0, 50.0, 50.0, 0.5, 0.6, 3).as_dict()
    assert row["accident_goal_met"] is True and row["incidence_goal_met"] is True
    assert row["pneumoconiosis_goal_met"] is False and row["training_goal_met"] is False
    unknown = GoalRow("370811", None, 5.0, 4.4, None, None, None, None, None, 0.6, 0).as_dict()
    assert unknown["accident_goal_met"] is None and unknown["training_goal_met"] is None
    assert alert_day(2026, "10-01") == date(2026, 10, 1)


def _office(
    sid: str,
    kind: str,
    division: str,
    department: str | None = None,
    industries: tuple[str, ...] = (),
) -> OfficeConfig:
    return OfficeConfig(
        id=sid,
        kind=kind,
        divisions=(division,),
        department=department,  # type: ignore[arg-type]
        industries=industries,
        webhook_url=f"http://x/{sid}",
        webhook_secret="whsec_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0",
        token=SecretStr(sid),
    )


def test_regulators_get_their_department_and_construction_permits_only() -> None:
    offices = [
        _office("office", "office", "370811"),
        _office("housing", "regulator", "370811", "housing", ("construction",)),
        _office("emergency", "regulator", "370800", "emergency", ("hazardous_chemicals",)),
    ]
    ids = lambda found: sorted(o.id for o in found)  # noqa: E731
    assert ids(alert_recipients("370811", "rectification_overdue", "housing", offices)) == [
        "housing",
        "office",
    ]
    assert ids(alert_recipients("370811", "rectification_overdue", "emergency", offices)) == [
        "emergency",
        "office",
    ]
    assert ids(alert_recipients("370811", "enterprise_uninsured", None, offices)) == ["office"]
    assert ids(alert_recipients("370812", "rectification_overdue", "housing", offices)) == []
    assert ids(permit_recipients("370811", offices)) == ["housing"]
    assert ids(permit_recipients("370812", offices)) == []
