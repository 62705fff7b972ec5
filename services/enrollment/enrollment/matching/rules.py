"""The coverage rules, as pure functions over plain values (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from rapidfuzz.distance import Levenshtein

from enrollment.matching.name_match import DEFAULT_THRESHOLD, is_match, score_project_names


@dataclass(frozen=True)
class Policy:
    """The matcher's settings: who it publishes as, the grace period, the name threshold."""

    source: str
    grace_seconds: float = 86400
    name_threshold: float = DEFAULT_THRESHOLD


# Protocols alike in shape (here and in drafts.py), on purpose: each lists the fields
# its reader uses.
class EnrollmentLike(Protocol):
    """What the rules read of an enrollment (EnrollmentFacts, or the matcher's fact)."""

    @property
    def enrollment_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def permit_no(self) -> str | None: ...
    @property
    def project_code(self) -> str | None: ...
    @property
    def project_name_key(self) -> str | None: ...
    @property
    def project_name(self) -> str | None: ...
    @property
    def employer_uscc(self) -> str: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_to(self) -> date | None: ...
    @property
    def terminated_on(self) -> date | None: ...


class PermitLike(Protocol):
    """What the rules read of a permit (PermitFacts, or the matcher's fact)."""

    @property
    def permit_no(self) -> str: ...
    @property
    def project_code(self) -> str | None: ...
    @property
    def project_name_key(self) -> str: ...
    @property
    def project_name(self) -> str: ...
    @property
    def contractor_uscc(self) -> str: ...


@dataclass(frozen=True, slots=True)
class EnrollmentFacts:
    enrollment_id: str
    kind: str
    permit_no: str | None
    project_code: str | None
    project_name_key: str | None
    employer_uscc: str
    valid_from: date
    valid_to: date | None
    terminated_on: date | None
    project_name: str | None = None


@dataclass(frozen=True, slots=True)
class PermitFacts:
    permit_no: str
    project_code: str | None
    project_name_key: str
    contractor_uscc: str
    project_name: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    enrollment_id: str
    by: str  # "permit_no" | "project_code" | "name"
    score: float = 1.0
    reason: str = ""

    def explain(self) -> str:
        return {
            "permit_no": f"按项目参保 {self.enrollment_id} 登记了该施工许可证号",
            "project_code": f"按项目参保 {self.enrollment_id} 登记了相同的投资项目代码",
            "name": (
                f"按项目参保 {self.enrollment_id} 与许可证施工单位相同, 项目名称匹配"
                f" (得分 {self.score:.2f}: {self.reason})"
            ),
        }[self.by]


def active_on(e: EnrollmentLike, day: date) -> bool:
    """In force on `day`: started, not past valid_to, not terminated before that day."""
    if e.valid_from > day:
        return False
    if e.valid_to is not None and e.valid_to < day:
        return False
    return e.terminated_on is None or e.terminated_on >= day


def project_in_force(e: EnrollmentLike, day: date) -> bool:
    """A project enrollment covers its site from before it starts until it ends or stops:
    enrolling ahead of the permit is exactly what the plan asks for."""
    if e.valid_to is not None and e.valid_to < day:
        return False
    return e.terminated_on is None or e.terminated_on >= day


def project_match(
    e: EnrollmentLike, permit: PermitLike, threshold: float = DEFAULT_THRESHOLD
) -> Match | None:
    """How a project enrollment names a permit, or None.

    Identifiers decide when they agree. When an enrollment has none, or its number is one
    or two keystrokes from the permit's (a mistyped number), its project name is scored
    against the permit's within the same contractor, and accepted above `threshold`.
    """
    if e.kind != "project":
        return None
    if e.permit_no is not None and e.permit_no == permit.permit_no:
        return Match(e.enrollment_id, "permit_no")
    if e.project_code is not None and e.project_code == permit.project_code:
        return Match(e.enrollment_id, "project_code")
    if e.employer_uscc != permit.contractor_uscc:
        return None
    if e.permit_no is not None and not _mistyped(e.permit_no, permit.permit_no):
        return None  # an enrollment for another permit of the same contractor
    code_typo = bool(permit.project_code) and _mistyped(
        e.project_code or "", permit.project_code or ""
    )
    if e.permit_no is None and e.project_code is not None and not code_typo:
        return None
    if e.project_name and permit.project_name:
        scored = score_project_names(e.project_name, permit.project_name)
    elif e.project_name_key and e.project_name_key == permit.project_name_key:
        return Match(e.enrollment_id, "name", 1.0, "名称归一化后相同")
    else:
        return None
    if not is_match(scored, threshold):
        return None
    return Match(e.enrollment_id, "name", scored.score, scored.reason)


def _mistyped(given: str, actual: str) -> bool:
    """Within two edits: a typo of the number rather than another permit's number."""
    return Levenshtein.distance(given, actual, score_cutoff=2) <= 2


def permit_coverage(
    enrollments: Iterable[EnrollmentLike],
    permit: PermitLike,
    today: date,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Match]:
    """Every project enrollment in force today that covers the permit."""
    matches = [
        project_match(e, permit, threshold) for e in enrollments if project_in_force(e, today)
    ]
    rank = {"permit_no": 0, "project_code": 1, "name": 2}
    found = (m for m in matches if m is not None)
    return sorted(found, key=lambda m: (rank[m.by], -m.score, m.enrollment_id))


def employer_coverage(enrollments: Iterable[EnrollmentLike], uscc: str, day: date) -> list[str]:
    """Ids of the employer enrollments of `uscc` active on `day`."""
    return sorted(
        e.enrollment_id
        for e in enrollments
        if e.kind == "employer" and e.employer_uscc == uscc and active_on(e, day)
    )


def grace_text(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} 小时"
    if seconds >= 60:
        return f"{int(seconds // 60)} 分钟"
    return f"{int(seconds)} 秒"
