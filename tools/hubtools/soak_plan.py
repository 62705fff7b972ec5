"""What the fault soak sends, and what it must find afterwards, as pure functions.

The plan is a seeded list of events at fixed slots (slot k is due at k / rate): permits,
project and employer enrollments, accidents and diagnoses. Some come in pairs: an
enrollment, then (`GAP` slots later, and only once the enrollment was accepted) the permit,
accident or diagnosis it covers. Every other permit, accident and diagnosis has no cover and
must raise exactly one alert. Expectations are derived from what was accepted, never from
what the hub reports.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from hub_shared.domain.identifiers import uscc_check_char
from hubtools.bench_requests import DIVISION, permit

Kind = Literal["permit", "enrollment", "accident", "disease"]
KINDS: tuple[Kind, ...] = ("permit", "enrollment", "accident", "disease")
TOPIC_OF: dict[Kind, str] = {
    "permit": "permits.v1",
    "enrollment": "enrollments.v1",
    "accident": "accidents.v1",
    "disease": "diseases.v1",
}
ALERT_KIND_OF: dict[Kind, str] = {
    "permit": "project_not_enrolled",
    "accident": "accident_uninsured_employer",
    "disease": "disease_uninsured_employer",
}
GAP = 25  # slots between an enrollment and the event it covers
# Units: (what, weight); a covered unit is an enrollment followed by its subject.
UNITS: tuple[tuple[str, int], ...] = (
    ("permit", 20), ("covered-permit", 12), ("accident", 14),
    ("covered-accident", 8), ("disease", 12), ("covered-disease", 6),
)  # fmt: skip
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class Planned:
    """One event of the plan: its slot, kind, domain id and, for a covered subject, the
    index of the enrollment that must be accepted before it is sent."""

    slot: int
    kind: Kind
    id: str
    employer: str
    after: int | None = None  # slot of the covering enrollment
    covers: str | None = None  # enrollment: the id of the subject it covers
    enrollment_kind: str = ""  # "project" | "employer"


def employer_uscc(i: int) -> str:
    """A distinct, valid USCC per subject: no fuzzy project match crosses two subjects."""
    body = f"91{DIVISION}MA{i:07d}"
    return body + uscc_check_char(body)


def resident_id(i: int) -> str:
    """A valid GB 11643 ID number, distinct per i (birth dates from 1970 on)."""
    born = date(1970, 1, 1) + timedelta(days=i % 9000)
    head = f"{DIVISION}{born:%Y%m%d}{i % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(head, _ID_WEIGHTS, strict=True))
    return head + _ID_CHECK[total % 11]


def plan(events: int, seed: int, tag: str = "SOAK") -> list[Planned]:
    """`events` events in slot order (slot k is the k-th sent); `tag` is letters only. A
    leader takes the first free slot, so the slots are exactly 0 .. events-1."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    names = [u for u, _ in UNITS]
    weights = [w for _, w in UNITS]
    taken: dict[int, Planned] = {}
    nxt, i = 0, 0
    while True:
        while nxt in taken:
            nxt += 1
        if nxt >= events:
            break
        unit = rng.choices(names, weights)[0]
        subject: Kind = unit.removeprefix("covered-")  # type: ignore[assignment]
        follower = nxt + GAP
        while follower in taken:
            follower += 1
        covered = unit.startswith("covered-") and follower < events
        sid, uscc = _subject_id(subject, tag, i), employer_uscc(i)
        if covered:
            kind = "project" if subject == "permit" else "employer"
            taken[nxt] = Planned(nxt, "enrollment", f"SI-{tag}-{i}", uscc, None, sid, kind)
            taken[follower] = Planned(follower, subject, sid, uscc, after=nxt)
        else:
            taken[nxt] = Planned(nxt, subject, sid, uscc)
        i += 1
    return [taken[s] for s in sorted(taken)]


def _subject_id(kind: Kind, tag: str, i: int) -> str:
    if kind == "permit":
        return str(permit(tag, i)["permit_no"])
    return f"{'ACC' if kind == 'accident' else 'DIA'}-{tag}-{i}"


def body_of(p: Planned, now: datetime) -> dict[str, Any]:
    """The JSON body of a planned event (CONTRACTS §4-§6)."""
    n = int(p.employer[10:17])
    if p.kind == "permit":
        body = permit("", 0) | {"permit_no": p.id, "project_name": f"浸泡项目{p.id[-8:]}"}
        return body | {"contractor": {"name": f"浸泡施工单位{n}", "uscc": p.employer}}
    party = {"name": f"浸泡单位{n}", "uscc": p.employer}
    if p.kind == "accident":
        return {"report_id": p.id, "occurred_at": (now - timedelta(hours=1)).isoformat(),
                "division_code": DIVISION, "employer": party, "industry_code": "E47",
                "grade": "general", "deaths": 0, "serious_injuries": 0, "minor_injuries": 1,
                "summary": "故障浸泡"}  # fmt: skip
    if p.kind == "disease":
        return {"diagnosis_id": p.id, "diagnosed_on": (now - timedelta(days=2)).date().isoformat(),
                "patient_id_number": resident_id(n), "patient_name": "浸泡患者", "category": 1,
                "disease": "尘肺病", "employer": party, "division_code": DIVISION,
                "institution": "济宁市职业病防治院"}  # fmt: skip
    project = p.enrollment_kind == "project"
    return {"enrollment_id": p.id, "kind": p.enrollment_kind,
            "permit_no": p.covers if project else None, "project_code": None,
            "project_name": None, "employer_uscc": p.employer,
            "employer_name": f"浸泡{'施工' if project else ''}单位{n}",
            "division_code": DIVISION, "insured_headcount": 0 if project else 50,
            "valid_from": "2020-01-01", "valid_to": None}  # fmt: skip


def expected_alerts(planned: Iterable[Planned], accepted: set[str]) -> dict[str, str]:
    """Subject id → alert kind, for every accepted subject whose cover was not accepted."""
    items = list(planned)
    covered = {p.covers for p in items if p.kind == "enrollment" and p.id in accepted}
    return {
        p.id: ALERT_KIND_OF[p.kind]
        for p in items
        if p.kind != "enrollment" and p.id in accepted and p.id not in covered
    }


@dataclass(frozen=True)
class TopicRecord:
    """What the soak reads of a record: its CloudEvents id and the domain id in its data."""

    ce_id: str
    ce_type: str
    subject_id: str
    alert_id: str = ""
    alert_kind: str = ""


@dataclass
class Tally:
    """Exactly-once figures for one set of ids."""

    expected: int = 0
    found: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)  # distinct events for one id
    redelivered: int = 0  # extra copies of one event (same id), absorbed downstream
    redelivered_ids: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "expected": self.expected, "found": self.found, "lost": len(self.lost),
            "duplicated": len(self.duplicated), "redelivered_copies": self.redelivered,
            "unexpected": len(self.unexpected), "lost_ids": self.lost[:20],
            "duplicated_ids": self.duplicated[:20], "unexpected_ids": self.unexpected[:20],
            "redelivered_ids": self.redelivered_ids[:20],
        }  # fmt: skip


def tally(expected: Iterable[str], found: Iterable[tuple[str, str]]) -> Tally:
    """`found` holds (domain id, event id) pairs as read back: an id with no pair is lost,
    one with two distinct event ids duplicated; the same pair twice is a redelivered copy."""
    want = set(expected)
    pairs = list(found)
    events: dict[str, set[str]] = {}
    for sid, eid in pairs:
        events.setdefault(sid, set()).add(eid)
    copies = Counter(pairs)
    return Tally(
        expected=len(want),
        found=len(want & events.keys()),
        lost=sorted(want - events.keys()),
        duplicated=sorted(s for s, e in events.items() if len(e) > 1),
        redelivered=sum(n - 1 for n in copies.values()),
        redelivered_ids=sorted({sid for (sid, _), n in copies.items() if n > 1}),
        unexpected=sorted(events.keys() - want),
    )


def topic_tally(expected: Iterable[str], records: Iterable[TopicRecord]) -> Tally:
    return tally(expected, ((r.subject_id, r.ce_id) for r in records))


def alert_tally(expected: Mapping[str, str], records: Iterable[TopicRecord]) -> Tally:
    """alert.raised records on alerts.v1: one alert per expected subject; a second alert id
    for the same kind and subject is a duplicate; a raised alert not expected is unexpected."""
    raised = [r for r in records if r.ce_type.endswith("alert.raised")]
    found = [(f"{r.alert_kind}:{r.subject_id}", r.alert_id) for r in raised]
    return tally((f"{k}:{s}" for s, k in expected.items()), found)


def delivery_tally(alert_ids: Mapping[str, str], deliveries: Iterable[tuple[str, str]]) -> Tally:
    """`alert_ids`: the expected alerts' subject → alert id (from alerts.v1); `deliveries`:
    (alert id, webhook-id) of each `alert.raised` the receiver got. A second webhook-id for
    one alert is a duplicated delivery; the same webhook-id again a retry (at least once)."""
    by_alert = {a: s for s, a in alert_ids.items()}
    found = [(by_alert.get(a, f"?{a}"), w) for a, w in deliveries]
    return tally(alert_ids.keys(), found)


def wall_now() -> datetime:
    return datetime.now(UTC)
