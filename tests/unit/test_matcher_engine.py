"""The matcher's engine on in-memory facts, with no database: folding events into facts
(enrollment.matching.fold) and judging which alerts to raise and resolve
(enrollment.matching.judge). The store and the driver only read and write what these
decide, so each decision is proved here in microseconds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from enrollment.matching.facts import Facts
from enrollment.matching.fold import Subject, fold, mark_due, parse
from enrollment.matching.judge import AlertChange, Index, expand, judge
from enrollment.matching.rules import Policy
from hub_shared import clock
from hub_shared.messaging.envelope import Envelope

CONTRACTOR = "91370812MA3L12T073"
OTHER = "91370811MA3AY4C041"
PERMIT_NO = "370811202103150101"
RECEIVED = datetime(2021, 3, 15, 1, 30, tzinfo=UTC)
GRACE = 86400.0
POLICY = Policy(source="/test/matcher", grace_seconds=GRACE)
BEFORE_DUE = RECEIVED + timedelta(hours=1)
AFTER_DUE = RECEIVED + timedelta(seconds=GRACE, hours=1)


def permit(revision: int = 1, name: str = "任城区运河花园3#楼", **extra: Any) -> Envelope:
    data = {
        "permit_no": PERMIT_NO,
        "project_code": None,
        "project_name": name,
        "address": "济宁",
        "division_code": "370811",
        "contract_price_wan": 10.0,
        "planned_start": "2021-04-01",
        "planned_end": "2022-04-01",
        "issued_at": "2021-03-15T09:30:00+08:00",
        "builder": {"name": "建设单位", "uscc": OTHER},
        "contractor": {"name": "施工单位", "uscc": CONTRACTOR},
        "received_at": RECEIVED.isoformat(),
        "source_id": "t",
        "revision": revision,
    } | extra
    name_ = "permit.issued" if revision == 1 else "permit.amended"
    return Envelope.new(name_, source="/t", data=data, key=PERMIT_NO)


def enrollment(
    enrollment_id: str = "SI-1",
    *,
    permit_no: str | None = PERMIT_NO,
    project_name: str | None = None,
    terminated_on: str | None = None,
) -> Envelope:
    data = {
        "enrollment_id": enrollment_id,
        "kind": "project",
        "permit_no": permit_no,
        "project_code": None,
        "project_name": project_name,
        "employer_uscc": CONTRACTOR,
        "employer_name": "施工单位",
        "division_code": "370811",
        "insured_headcount": 0,
        "valid_from": "2021-03-10",
        "valid_to": None,
        "terminated_on": terminated_on,
    }
    name = "enrollment.terminated" if terminated_on else "enrollment.registered"
    return Envelope.new(name, source="/t", data=data, key=CONTRACTOR)


def run(
    facts: Facts, envelopes: list[Envelope], at: datetime, policy: Policy = POLICY
) -> list[AlertChange]:
    """One batch as the driver runs it, minus the store: fold, expand, judge."""
    touched: set[Subject] = set()
    for envelope in envelopes:
        event = parse(envelope)
        assert event is not None
        touched |= fold(facts, event, policy, at)
    return settle(facts, touched, at, policy)


def settle(facts: Facts, touched: set[Subject], at: datetime, policy: Policy) -> list[AlertChange]:
    index = Index(facts)
    subjects = expand(index, touched, policy.name_threshold)
    return judge(facts, subjects, index, policy, at, clock.local_date(at))


def kinds(changes: list[AlertChange]) -> list[tuple[str, str, str]]:
    return [(name, alert.kind, alert.subject_key) for name, alert in changes]


def test_a_permit_is_not_judged_before_its_grace_period_has_passed() -> None:
    facts = Facts()
    assert run(facts, [permit()], BEFORE_DUE) == []
    assert facts.permits[PERMIT_NO].due_at == RECEIVED + timedelta(seconds=GRACE)
    assert facts.open_alerts == {}


def test_the_due_scan_raises_one_alert_for_an_unenrolled_permit() -> None:
    facts = Facts()
    run(facts, [permit()], BEFORE_DUE)
    changes = settle(facts, mark_due(facts, [PERMIT_NO], AFTER_DUE), AFTER_DUE, POLICY)
    assert kinds(changes) == [("alert.raised", "project_not_enrolled", PERMIT_NO)]
    # A second scan of the same permit finds it checked and changes nothing.
    assert mark_due(facts, [PERMIT_NO], AFTER_DUE) == set()


def test_a_permit_already_due_on_arrival_is_judged_at_once() -> None:
    changes = run(Facts(), [permit()], AFTER_DUE)
    assert kinds(changes) == [("alert.raised", "project_not_enrolled", PERMIT_NO)]


def test_an_enrollment_resolves_the_open_alert_and_says_how_it_matched() -> None:
    facts = Facts()
    (raised,) = run(facts, [permit()], AFTER_DUE)
    (resolved,) = run(facts, [enrollment()], AFTER_DUE)
    assert resolved[0] == "alert.resolved"
    alert = resolved[1]
    assert alert.alert_id == raised[1].alert_id and alert.resolution == "SI-1"
    evidence = json.loads(alert.evidence)
    assert evidence[-1]["type"] == "enrollment.registered" and evidence[-1]["id"] == "SI-1"
    assert facts.open_alerts == {}


def test_an_enrollment_before_the_permit_means_no_alert_at_all() -> None:
    assert run(Facts(), [enrollment(), permit()], AFTER_DUE) == []


def test_the_same_events_in_another_order_give_the_same_alerts() -> None:
    ended = enrollment(terminated_on="2021-03-12")  # ended before the permit came
    raised = [("alert.raised", "project_not_enrolled", PERMIT_NO)]
    assert kinds(run(Facts(), [permit(), ended], AFTER_DUE)) == raised
    assert kinds(run(Facts(), [ended, permit()], AFTER_DUE)) == raised
    covered = [permit(), ended, enrollment("SI-2")]
    assert run(Facts(), covered, AFTER_DUE) == run(Facts(), covered[::-1], AFTER_DUE) == []


def test_a_terminated_enrollment_stays_terminated_when_its_registration_comes_late() -> None:
    facts = Facts()
    run(facts, [enrollment(terminated_on="2021-03-12")], AFTER_DUE)
    run(facts, [enrollment()], AFTER_DUE)
    assert str(facts.enrollments["SI-1"].terminated_on) == "2021-03-12"
    changes = run(facts, [permit()], AFTER_DUE)
    assert kinds(changes) == [("alert.raised", "project_not_enrolled", PERMIT_NO)]


def test_an_older_permit_revision_arriving_late_changes_nothing() -> None:
    facts = Facts()
    run(facts, [permit(revision=2, name="任城区运河花园5#楼")], BEFORE_DUE)
    run(facts, [permit(revision=1)], BEFORE_DUE)
    assert facts.permits[PERMIT_NO].revision == 2
    assert facts.permits[PERMIT_NO].project_name == "任城区运河花园5#楼"


def test_a_second_copy_of_an_event_raises_no_second_alert() -> None:
    facts = Facts()
    run(facts, [permit()], AFTER_DUE)
    assert run(facts, [permit()], AFTER_DUE) == []
    assert len(facts.open_alerts) == 1


def test_the_policys_name_threshold_decides_a_name_only_match() -> None:
    """A same-sound slip (运和 for 运河) scores 0.875: the enrollment covers the permit
    under the default threshold 0.85, and not under 0.9."""
    slip = enrollment(permit_no=None, project_name="任城区运和花园3#楼")
    loose = run(Facts(), [slip, permit()], AFTER_DUE, POLICY)
    strict_policy = Policy(source=POLICY.source, grace_seconds=GRACE, name_threshold=0.9)
    strict = run(Facts(), [slip, permit()], AFTER_DUE, strict_policy)
    assert loose == []
    assert kinds(strict) == [("alert.raised", "project_not_enrolled", PERMIT_NO)]
