"""Demo data of the plan's other goals, for the enterprises of `demo_data`: occupational
diseases 2020-2025 (pneumoconiosis falling in most counties, rising in 嘉祥), key personnel
and their training (40 % trained in 2021, 100 % or short of it by county at the end), and
joint inspections with rectifications (some findings overdue).

Every record has a fixed id and is drawn from the seed: a second run changes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Final

from hub_shared.domain.industries import key_industries_of
from hub_shared.web import webhooks
from hubtools.demo_data import INDUSTRIES, Call, Enterprise, enterprises

# Dust industries and their new pneumoconiosis cases per 100,000 insured in 2020.
DUST: Final = {
    "coal": 260.0,
    "quarry": 220.0,
    "building_materials": 140.0,
    "metallurgy": 90.0,
    "construction": 60.0,
    "installation": 40.0,
}
OTHER: Final = {
    "chemicals": (5, "苯中毒", 80.0),
    "hazmat_transport": (5, "急性化学物中毒", 40.0),
    "machinery": (4, "职业性噪声聋", 70.0),
    "vehicles": (4, "职业性噪声聋", 50.0),
    "pharmaceutical": (2, "接触性皮炎", 30.0),
}
RISING: Final = "370829"  # 嘉祥: pneumoconiosis rising, the county to look at
# Share of key personnel trained by the end of 2025, and the counties short of it.
FINAL_COVERAGE: Final = {"370827": 0.82, "370831": 0.76, "370829": 0.9}
CUMULATIVE: Final = {2021: 0.4, 2022: 0.6, 2023: 0.78, 2024: 0.92, 2025: 1.0}
ROLES: Final = ("leader_in_charge", "safety_head", "team_leader")
WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
SURNAMES: Final = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
KINDS: Final = ("safety_hazard", "accident_precursor", "hazard_over_limit", "project_uninsured")
FINDINGS_ZH: Final = {
    "safety_hazard": "脚手架连墙件缺失",
    "accident_precursor": "特种作业人员无证上岗",
    "hazard_over_limit": "粉尘浓度超标",
    "project_uninsured": "在建项目未按项目参保",
}
DEPARTMENT_OF: Final = {
    "safety_hazard": "emergency",
    "accident_precursor": "emergency",
    "hazard_over_limit": "health",
    "project_uninsured": "housing",
}


def id_number(rng: random.Random, division: str) -> str:
    """A valid resident ID number of the division (GB 11643), born 1965-1995."""
    born = date(1965, 1, 1) + timedelta(days=rng.randrange(365 * 30))
    body = f"{division}{born:%Y%m%d}{rng.randrange(1000):03d}"
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]
    return body + check


def _day(rng: random.Random, year: int, today: date) -> date | None:
    day = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    return day if day < today else None


def diseases(e: Enterprise, rng: random.Random, today: date) -> Iterator[dict[str, Any]]:
    insured = e.insured_headcount or e.employees
    for year in range(2020, 2026):
        trend = 1.12 ** (year - 2020) if e.division_code == RISING else 0.86 ** (year - 2020)
        kinds = []
        if e.industry in DUST:
            kinds.append((1, "矽肺", DUST[e.industry] * trend))
        if e.industry in OTHER:
            category, name, rate = OTHER[e.industry]
            kinds.append((category, name, rate * 0.92 ** (year - 2020)))
        for category, name, rate in kinds:
            expected = insured * rate / 100_000
            count = int(expected) + (rng.random() < expected - int(expected))
            for n in range(count):
                day = _day(rng, year, today)
                if day is None:
                    continue
                person = id_number(rng, e.division_code)
                body = _diagnosis(
                    e, f"DEMO-D-{e.uscc}-{year}-{category}-{n}", person, day, category, name, rng
                )
                yield body
                if rng.random() < 0.15 and day + timedelta(days=400) < today:  # a repeat
                    again = body | {
                        "diagnosis_id": body["diagnosis_id"] + "-R",
                        "diagnosed_on": (day + timedelta(days=400)).isoformat(),
                    }
                    yield again


def _diagnosis(
    e: Enterprise,
    diagnosis_id: str,
    person: str,
    day: date,
    category: int,
    name: str,
    rng: random.Random,
) -> dict[str, Any]:
    return {
        "diagnosis_id": diagnosis_id,
        "diagnosed_on": day.isoformat(),
        "patient_id_number": person,
        "patient_name": rng.choice(SURNAMES) + "某",
        "category": category,
        "disease": name,
        "employer": {"name": e.name, "uscc": e.uscc},
        "division_code": e.division_code,
        "institution": "济宁市职业病防治院",
    }


def key_people(e: Enterprise, rng: random.Random) -> Iterator[tuple[str, str]]:
    """(role, ID number) of the enterprise's key personnel."""
    yield "leader_in_charge", id_number(rng, e.division_code)
    yield "safety_head", id_number(rng, e.division_code)
    for _ in range(max(1, min(6, e.employees // 150))):
        yield "team_leader", id_number(rng, e.division_code)


def _trained_in(rng: random.Random, division: str) -> int | None:
    """The year a person is trained, or None: never by 2025."""
    draw = rng.random()
    final = FINAL_COVERAGE.get(division, 1.0)
    for year, share in CUMULATIVE.items():
        if draw < share * final:
            return year
    return None


def _is_key(e: Enterprise) -> bool:
    return bool(key_industries_of(INDUSTRIES[e.industry][0]))


def goal_calls(
    count: int,
    seed: int,
    *,
    incidents_url: str,
    health: str,
    staff: str,
    platform: tuple[str, str] | None,
    today: date,
) -> dict[str, list[Call]]:
    """Requests per phase: 职业病, 重点人员, 培训, 联合检查, 整改."""
    made = enterprises(count, random.Random(seed))  # noqa: S311  (seeded demo data)
    phases: dict[str, list[Call]] = {
        "职业病": [],
        "重点人员": [],
        "培训": [],
        "联合检查": [],
        "整改": [],
    }
    for e in made:
        rng = random.Random(f"{seed}-goals-{e.uscc}")  # noqa: S311
        for body in diseases(e, rng, today):
            phases["职业病"].append(Call("POST", f"{incidents_url}/v1/diseases", body, health))
        if not _is_key(e):
            continue
        for index, (role, person) in enumerate(key_people(e, rng)):
            phases["重点人员"].append(
                Call(
                    "POST",
                    f"{incidents_url}/v1/key-personnel",
                    {
                        "enterprise": {"name": e.name, "uscc": e.uscc},
                        "division_code": e.division_code,
                        "industry_code": INDUSTRIES[e.industry][0],
                        "role": role,
                        "person_id_number": person,
                        "person_name": rng.choice(SURNAMES) + "某",
                        "listed_on": "2021-03-01",
                    },
                    staff,
                )
            )
            year = _trained_in(rng, e.division_code)
            day = _day(rng, year, today) if year else None
            if day is None:
                continue
            body = {
                "completion_id": f"DEMO-T-{e.uscc}-{index}",
                "person_id_number": person,
                "course": "重点行业工伤预防培训",
                "hours": 16,
                "completed_on": day.isoformat(),
                "trainer": "济宁市工伤预防培训平台",
            }
            phases["培训"].append(_completion(body, incidents_url, staff, platform, index))
        if rng.random() < 0.2:
            _inspection(e, rng, today, incidents_url, staff, phases)
    return phases


def _completion(
    body: dict[str, Any], url: str, staff: str, platform: tuple[str, str] | None, index: int
) -> Call:
    """Half of the completions come from the online platform (signed), half by REST."""
    if platform is None or index % 2:
        return Call("POST", f"{url}/v1/training-completions", body, staff)
    source, secret = platform

    def signed(raw: bytes) -> dict[str, str]:  # signed when sent: the stamp must be fresh
        headers = webhooks.sign([secret], f"msg_{body['completion_id']}", raw)
        return headers | {"X-Hub-Source": source, "Content-Type": "application/json"}

    return Call("POST", f"{url}/v1/webhooks/training-completions", body, "", signer=signed)


def _inspection(
    e: Enterprise,
    rng: random.Random,
    today: date,
    url: str,
    staff: str,
    phases: dict[str, list[Call]],
) -> None:
    inspected = date(2023, 1, 1) + timedelta(days=rng.randrange((today - date(2023, 1, 1)).days))
    findings = []
    for n in range(rng.randint(1, 3)):
        kind = rng.choice(KINDS if e.industry in ("construction", "installation") else KINDS[:3])
        deadline = inspected + timedelta(days=rng.choice((30, 45, 60, 90)))
        finding_id = f"DEMO-F-{e.uscc}-{n}"
        findings.append(
            {
                "finding_id": finding_id,
                "kind": kind,
                "description": FINDINGS_ZH[kind],
                "deadline": deadline.isoformat(),
                "responsible_department": DEPARTMENT_OF[kind],
            }
        )
        outcome = rng.random()
        done = (
            deadline - timedelta(days=rng.randrange(1, 20))
            if outcome < 0.7
            else (deadline + timedelta(days=rng.randrange(5, 60)) if outcome < 0.85 else None)
        )
        if done is not None and inspected <= done < today:
            phases["整改"].append(
                Call(
                    "POST",
                    f"{url}/v1/inspection-findings/{finding_id}/rectification",
                    {"rectified_on": done.isoformat(), "evidence": "整改照片、复查记录"},
                    staff,
                )
            )
    phases["联合检查"].append(
        Call(
            "POST",
            f"{url}/v1/inspections",
            {
                "inspection_id": f"DEMO-I-{e.uscc}",
                "inspected_on": inspected.isoformat(),
                "departments": ["hrss", "emergency", "housing", "health"],
                "enterprise": {"name": e.name, "uscc": e.uscc},
                "division_code": e.division_code,
                "industry_code": INDUSTRIES[e.industry][0],
                "findings": findings,
            },
            staff,
        )
    )
