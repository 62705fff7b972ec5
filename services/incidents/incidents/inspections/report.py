"""The rectification record of joint inspections, as pure functions over plain data.

Definitions (docs/plan-goals.md):
- an inspection counts in the year of its date, in its division and in every key-industry
  row of the industry code recorded with it; the total row counts every inspection of the
  division once, key industry or not;
- a finding counts with its inspection; on the report day it is rectified on time
  (rectified on or before its deadline), rectified late (after it), or open; an open
  finding past its deadline is also counted as overdue;
- the on-time rate = rectified on time ÷ findings whose deadline has passed or that were
  rectified; null when there are none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from hub_shared.domain import divisions
from hub_shared.domain.industries import KEY_INDUSTRIES
from incidents.reports.key_industries import key_industries, named_rows

NOTES: Final[tuple[str, ...]] = (
    "检查按检查日期计入年度, 按被检查企业的行政区划计入县(市、区), 按检查时登记的行业代码"
    "计入重点行业; 合计行包括全部检查, 每次只计一次。",
    "按期整改: 整改日期不晚于整改期限; 逾期整改: 晚于期限; 未整改: 尚无整改记录, "
    "其中已过期限的为“逾期未整改”。",
    "按期整改率 = 按期整改数 ÷ (已整改数 + 逾期未整改数); 无此类问题时不计算。",
)


@dataclass(frozen=True)
class FindingFact:
    inspection_id: str
    deadline: date
    rectified_on: date | None


@dataclass(frozen=True)
class InspectionFact:
    inspection_id: str
    division_code: str
    industry_code: str
    inspected_on: date


# A plain counter record, alike in shape to reports.Figures and other records of numbers
# (enrollment's RebuildReport, hubtools' SoakOptions): each holds its own.
@dataclass
class Tally:
    inspections: int = 0
    findings: int = 0
    on_time: int = 0
    late: int = 0
    open: int = 0
    overdue: int = 0

    def add(self, findings: Iterable[FindingFact], today: date) -> None:
        self.inspections += 1
        for finding in findings:
            self.findings += 1
            if finding.rectified_on is None:
                self.open += 1
                self.overdue += today > finding.deadline
            elif finding.rectified_on <= finding.deadline:
                self.on_time += 1
            else:
                self.late += 1

    def as_dict(self) -> dict[str, Any]:
        judged = self.on_time + self.late + self.overdue
        return {
            "inspections": self.inspections,
            "findings": self.findings,
            "rectified_on_time": self.on_time,
            "rectified_late": self.late,
            "open": self.open,
            "overdue": self.overdue,
            "on_time_rate": None if judged == 0 else round(self.on_time / judged, 4),
        }


# as_dict alike in shape to the other reports' (advice.py, reports.py, trends.py): each
# renders its own report.
@dataclass
class InspectionReport:
    division_code: str
    year: int
    as_of: date
    rows: dict[str, Tally] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)
    counties: dict[str, Tally] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "division_code": self.division_code,
            "division_name": divisions.name_of(self.division_code),
            "year": self.year,
            "as_of": self.as_of.isoformat(),
            **named_rows(self.rows, self.total, self.counties),
            "notes": list(NOTES),
        }


def inspection_report(
    *,
    division_code: str,
    year: int,
    today: date,
    inspections: Iterable[InspectionFact],
    findings: Iterable[FindingFact],
    counties: Iterable[str],
) -> InspectionReport:
    """The record of a division's inspections of a year, on `today`."""
    by_inspection: dict[str, list[FindingFact]] = {}
    for finding in findings:
        by_inspection.setdefault(finding.inspection_id, []).append(finding)
    report = InspectionReport(
        division_code,
        year,
        today,
        rows={k.key: Tally() for k in KEY_INDUSTRIES},
        counties={code: Tally() for code in counties},
    )
    for inspection in inspections:
        if inspection.inspected_on.year != year:
            continue
        if not divisions.covers(division_code, inspection.division_code):
            continue
        own = by_inspection.get(inspection.inspection_id, [])
        tallies = [report.rows[key] for key in key_industries(inspection.industry_code)]
        tallies.append(report.total)
        county = report.counties.get(inspection.division_code)
        if county is not None:
            tallies.append(county)
        for tally in tallies:
            tally.add(own, today)
    return report
