"""The coverage rules, as pure functions over plain values (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class PermitFacts:
    permit_no: str
    project_code: str | None
    project_name_key: str
    contractor_uscc: str


@dataclass(frozen=True)
class Match:
    enrollment_id: str
    by: str  # "permit_no" | "project_code" | "name"

    def explain(self) -> str:
        return {
            "permit_no": f"按项目参保 {self.enrollment_id} 登记了该施工许可证号",
            "project_code": f"按项目参保 {self.enrollment_id} 登记了相同的投资项目代码",
            "name": f"按项目参保 {self.enrollment_id} 的项目名称与施工单位与许可证一致",
        }[self.by]


def active_on(e: EnrollmentFacts, day: date) -> bool:
    """In force on `day`: started, not past valid_to, not terminated before that day."""
    if e.valid_from > day:
        return False
    if e.valid_to is not None and e.valid_to < day:
        return False
    return e.terminated_on is None or e.terminated_on >= day


def project_in_force(e: EnrollmentFacts, day: date) -> bool:
    """A project enrollment covers its site from before it starts until it ends or stops:
    enrolling ahead of the permit is exactly what the plan asks for."""
    if e.valid_to is not None and e.valid_to < day:
        return False
    return e.terminated_on is None or e.terminated_on >= day


def project_match(e: EnrollmentFacts, permit: PermitFacts) -> Match | None:
    """How a project enrollment names a permit, or None."""
    if e.kind != "project":
        return None
    if e.permit_no is not None:
        return Match(e.enrollment_id, "permit_no") if e.permit_no == permit.permit_no else None
    if e.project_code is not None:
        same = permit.project_code is not None and e.project_code == permit.project_code
        return Match(e.enrollment_id, "project_code") if same else None
    if (
        e.project_name_key
        and e.project_name_key == permit.project_name_key
        and e.employer_uscc == permit.contractor_uscc
    ):
        return Match(e.enrollment_id, "name")
    return None


def permit_coverage(
    enrollments: list[EnrollmentFacts], permit: PermitFacts, today: date
) -> list[Match]:
    """Every project enrollment in force today that covers the permit."""
    matches = [project_match(e, permit) for e in enrollments if project_in_force(e, today)]
    return sorted((m for m in matches if m is not None), key=lambda m: m.enrollment_id)


def employer_coverage(enrollments: list[EnrollmentFacts], uscc: str, day: date) -> list[str]:
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
