"""The fault soak's own counting (hubtools.soak_plan): lost, duplicated and redelivered
events, the expected alerts and deliveries, and the plan they are derived from."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from enrollment.registry.schemas import EnrollmentIn
from hub_shared.domain.identifiers import validate_resident_id
from hubtools.soak_io import kill_moments
from hubtools.soak_plan import (
    GAP,
    Planned,
    TopicRecord,
    alert_tally,
    body_of,
    delivery_tally,
    expected_alerts,
    plan,
    resident_id,
    tally,
    topic_tally,
)
from incidents.schemas import AccidentIn, DiseaseIn
from permit_ingest.schemas import PermitIn


def test_an_id_never_read_back_is_lost_and_one_with_two_events_duplicated() -> None:
    found = [("a", "e1"), ("b", "e2"), ("b", "e3"), ("c", "e4"), ("c", "e4"), ("x", "e9")]
    result = tally(["a", "b", "c", "d"], found)
    assert result.lost == ["d"]
    assert result.duplicated == ["b"]  # two distinct events for one id: a doubled effect
    assert result.redelivered == 1  # e4 twice: the same event again, absorbed downstream
    assert result.unexpected == ["x"]
    assert result.found == 3 and result.expected == 4


def test_every_id_once_counts_nothing_lost_or_doubled() -> None:
    records = [TopicRecord(f"e{i}", "cn.gov.jining.hub.permit.issued", f"p{i}") for i in range(5)]
    summary = topic_tally([f"p{i}" for i in range(5)], records).summary()
    assert (summary["lost"], summary["duplicated"], summary["redelivered_copies"]) == (0, 0, 0)
    assert summary["found"] == 5


def _planned() -> list[Planned]:
    return [
        Planned(0, "enrollment", "SI-1", "u1", covers="P1", enrollment_kind="project"),
        Planned(1, "permit", "P1", "u1", after=0),
        Planned(2, "permit", "P2", "u2"),
        Planned(3, "enrollment", "SI-3", "u3", covers="A3", enrollment_kind="employer"),
        Planned(4, "accident", "A3", "u3", after=3),
        Planned(5, "disease", "D5", "u5"),
    ]


def test_alerts_are_expected_for_accepted_subjects_without_an_accepted_enrollment() -> None:
    accepted = {"SI-1", "P1", "P2", "A3", "D5"}  # SI-3 was refused: A3 has no cover
    assert expected_alerts(_planned(), accepted) == {
        "P2": "project_not_enrolled",
        "A3": "accident_uninsured_employer",
        "D5": "disease_uninsured_employer",
    }
    assert expected_alerts(_planned(), {"SI-1", "SI-3", "A3"}) == {}  # P1, P2, D5 never accepted


def test_a_second_alert_for_a_subject_is_a_duplicate_one_for_a_covered_one_unexpected() -> None:
    raised = "cn.gov.jining.hub.alert.raised"
    records = [
        TopicRecord("c1", raised, "P2", "alert-1", "project_not_enrolled"),
        TopicRecord("c2", raised, "P2", "alert-2", "project_not_enrolled"),
        TopicRecord("c3", raised, "P1", "alert-3", "project_not_enrolled"),
        TopicRecord("c4", "cn.gov.jining.hub.alert.resolved", "A3", "alert-4", "x"),
    ]
    result = alert_tally(
        {"P2": "project_not_enrolled", "A3": "accident_uninsured_employer"}, records
    )
    assert result.duplicated == ["project_not_enrolled:P2"]
    assert result.lost == ["accident_uninsured_employer:A3"]  # a resolved event is not a raise
    assert result.unexpected == ["project_not_enrolled:P1"]


def test_a_retried_delivery_is_a_copy_and_a_second_webhook_id_a_duplicate() -> None:
    alert_ids = {"P2": "alert-1", "A3": "alert-2", "D5": "alert-3"}
    deliveries = [("alert-1", "w1"), ("alert-1", "w1"), ("alert-2", "w2"), ("alert-2", "w3")]
    result = delivery_tally(alert_ids, deliveries)
    assert result.lost == ["D5"]
    assert result.duplicated == ["A3"]
    assert result.redelivered == 1


def test_the_plan_is_seeded_and_every_covered_subject_follows_its_enrollment() -> None:
    planned = plan(600, seed=3)
    assert planned == plan(600, seed=3)
    assert planned != plan(600, seed=4)
    assert [p.slot for p in planned] == list(range(600))
    assert len({p.id for p in planned}) == 600
    for p in planned:
        if p.after is not None:
            leader = planned[p.after]
            assert leader.kind == "enrollment" and leader.covers == p.id
            assert p.slot - leader.slot >= GAP


def test_the_planned_bodies_are_valid_requests() -> None:
    now = datetime.now(UTC)
    models = {"permit": PermitIn, "accident": AccidentIn, "disease": DiseaseIn}
    for p in plan(300, seed=5):
        body = body_of(p, now)
        if p.kind == "enrollment":
            EnrollmentIn.model_validate(body).check()
        else:
            models[p.kind].model_validate(body)
    assert validate_resident_id(resident_id(4321)) == resident_id(4321)


def test_kill_moments_stay_inside_the_sending_window() -> None:
    moments = kill_moments(10, 400.0, random.Random(1))
    assert moments == sorted(moments) and len(moments) == 10
    assert all(12.0 <= m <= 388.0 for m in moments)
