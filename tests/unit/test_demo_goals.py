"""The demo data of the plan's goals: every request body is one the incidents API accepts,
and the story holds (pneumoconiosis rising in 嘉祥 only, training short in some counties)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from hubtools.demo_goals import RISING, goal_calls
from incidents.inspections.intake import check
from incidents.inspections.schemas import InspectionIn, RectificationIn
from incidents.schemas import DiseaseIn
from incidents.training.schemas import CompletionIn, KeyPersonIn

TODAY = date(2026, 12, 6)


def _phases() -> dict[str, list[object]]:
    return goal_calls(  # type: ignore[return-value]
        400, 1, incidents_url="http://hub", health="h", staff="s",
        platform=("academy", "whsec_dHJhaW5pbmctcGxhdGZvcm0tZGVtby1zZWNyZXQ="), today=TODAY,
    )  # fmt: skip


def test_every_demo_request_is_valid() -> None:
    phases = _phases()
    models = {"职业病": DiseaseIn, "重点人员": KeyPersonIn, "培训": CompletionIn,
              "联合检查": InspectionIn, "整改": RectificationIn}  # fmt: skip
    for phase, calls in phases.items():
        assert calls, f"no {phase} requests"
        for call in calls:
            parsed = models[phase].model_validate(call.body)  # type: ignore[attr-defined]
            if isinstance(parsed, InspectionIn):
                check(parsed)
    signed = [c for c in phases["培训"] if c.signer is not None]  # type: ignore[attr-defined]
    assert signed and len(signed) < len(phases["培训"])
    headers = signed[0].signer(b"{}")  # type: ignore[attr-defined]
    assert headers["X-Hub-Source"] == "academy" and headers["webhook-signature"].startswith("v1,")


def test_the_story_pneumoconiosis_rises_in_one_county_only() -> None:
    cases: Counter[tuple[str, int]] = Counter()
    for call in _phases()["职业病"]:
        body = call.body  # type: ignore[attr-defined]
        if body["category"] == 1 and not body["diagnosis_id"].endswith("-R"):
            cases[(body["division_code"], int(body["diagnosed_on"][:4]))] += 1
    others = {county for county, _ in cases} - {RISING}
    rising = cases[(RISING, 2025)] > cases[(RISING, 2020)]
    falling = sum(cases[(c, 2025)] for c in others) < sum(cases[(c, 2020)] for c in others)
    assert rising and falling
