"""Occupational-disease incidence per key industry and division, as pure functions.

Definitions (docs/plan-goals.md):
- a new case is a person's first diagnosis: diagnoses of one person (the same keyed
  digest of the ID number) ordered by (diagnosed_on, diagnosis_id); the later ones are the
  repeats that the diagnosis API lists in `repeat_of`, and they count nowhere;
- a new pneumoconiosis case is a person's first diagnosis of category 1 (职业性尘肺病及
  其他呼吸系统疾病), whatever came before it in other categories;
- a case counts in the year of its Beijing date, in the division of the diagnosis, and in
  every key-industry row of its employer's industry code on the stock date (the
  enterprise projection; an employer unknown to it counts in no row); the total row
  counts each case once;
- incidence per 100,000 = new cases ÷ insured employees × 100,000, with the insured
  employees of the key-industry table (reports.py) of the same row, division and year;
  null when there are no insured employees; rounded to 4 decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from hub_shared.domain import divisions
from incidents.reports.key_industries import (
    TOTAL_KEY,
    TOTAL_ZH,
    EnterpriseState,
    KeyIndustryReport,
    Row,
    key_industries,
)

PNEUMOCONIOSIS: Final = 1
PER: Final = 100_000

NOTES: Final[tuple[str, ...]] = (
    "职业病新发病例: 同一人(身份证号的密钥摘要相同)的诊断按诊断日期排序, 只计第一次; "
    "此后的诊断(repeat_of)不再计数。",
    "尘肺病新发病例: 同一人第一次第 1 类(职业性尘肺病及其他呼吸系统疾病)诊断。",
    "病例按诊断日期(北京时间)计入年度, 按诊断的行政区划计入县(市、区), "
    "按用人单位在统计时点的行业代码计入重点行业; 合计行每例只计一次。",
    "职业病发生率(1/10万) = 新发病例数 ÷ 参加工伤保险人数 × 100000, "
    "参保人数口径同重点行业企业基本情况表; 分母为 0 时不计算。",
    "以 2020 年为基期: 低于基期为“下降”(目标), 高于基期为“上升”; 高于上一年即标记为上升。",
)


@dataclass(frozen=True)
class DiagnosisFact:
    diagnosis_id: str
    patient_digest: str
    category: int
    employer_uscc: str
    division_code: str
    diagnosed_on: date


def first_diagnoses(
    diagnoses: Iterable[DiagnosisFact], *, category: int | None = None
) -> list[DiagnosisFact]:
    """Each person's first diagnosis (of `category`, when given): the new cases."""
    first: dict[str, DiagnosisFact] = {}
    for diagnosis in diagnoses:
        if category is not None and diagnosis.category != category:
            continue
        known = first.get(diagnosis.patient_digest)
        order = (diagnosis.diagnosed_on, diagnosis.diagnosis_id)
        if known is None or order < (known.diagnosed_on, known.diagnosis_id):
            first[diagnosis.patient_digest] = diagnosis
    return list(first.values())


def per_100k(cases: int, insured: int) -> float | None:
    """Cases per 100,000 insured employees; None without insured employees."""
    if insured == 0:
        return None
    return round(cases * PER / insured, 4)


# as_dict alike in shape to reports.Figures' and trends' points: each row renders its
# own figures.
@dataclass
class IncidenceRow:
    industry: str
    industry_zh: str
    insured_employees: int
    new_cases: int = 0
    pneumoconiosis_cases: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "industry": self.industry,
            "industry_zh": self.industry_zh,
            "insured_employees": self.insured_employees,
            "new_cases": self.new_cases,
            "incidence_per_100k": per_100k(self.new_cases, self.insured_employees),
            "pneumoconiosis_cases": self.pneumoconiosis_cases,
            "pneumoconiosis_per_100k": per_100k(self.pneumoconiosis_cases, self.insured_employees),
        }


@dataclass(frozen=True)
class IncidenceTable:
    division_code: str
    year: int
    rows: tuple[IncidenceRow, ...]
    total: IncidenceRow = field(default_factory=lambda: IncidenceRow(TOTAL_KEY, TOTAL_ZH, 0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "division_code": self.division_code,
            "division_name": divisions.name_of(self.division_code),
            "year": self.year,
            "rows": [row.as_dict() for row in self.rows],
            "total": self.total.as_dict(),
            "notes": list(NOTES),
        }


def _row(row: Row) -> IncidenceRow:
    return IncidenceRow(row.industry, row.industry_zh, row.figures.insured_employees)


def _count_in(
    table: KeyIndustryReport,
    cases: Iterable[DiagnosisFact],
    industries: Mapping[str, tuple[str, ...]],
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in cases:
        if case.diagnosed_on.year != table.year or case.diagnosed_on > table.stock_date:
            continue
        if not divisions.covers(table.division_code, case.division_code):
            continue
        keys = industries.get(case.employer_uscc, ())
        for key in (*keys, TOTAL_KEY) if keys else ():
            counts[key] = counts.get(key, 0) + 1
    return counts


def incidence_table(
    *,
    table: KeyIndustryReport,
    enterprises: Iterable[EnterpriseState],
    new_cases: Iterable[DiagnosisFact],
    new_pneumoconiosis: Iterable[DiagnosisFact],
) -> IncidenceTable:
    """The incidence of a key-industry table's division and year.

    `enterprises` are the states on the table's stock date; `new_cases` and
    `new_pneumoconiosis` come from `first_diagnoses` over every known diagnosis.
    """
    industries = {e.uscc: key_industries(e.industry_code) for e in enterprises}
    all_cases = _count_in(table, new_cases, industries)
    dust_cases = _count_in(table, new_pneumoconiosis, industries)
    rows = tuple(_row(row) for row in table.rows)
    total = _row(table.total)
    for row in (*rows, total):
        row.new_cases = all_cases.get(row.industry, 0)
        row.pneumoconiosis_cases = dust_cases.get(row.industry, 0)
    return IncidenceTable(table.division_code, table.year, rows, total)
