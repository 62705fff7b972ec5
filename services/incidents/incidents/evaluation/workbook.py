"""The evaluation as one XLSX workbook, and the goals sheet the annual submission shares."""

from __future__ import annotations

import io
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from hub_shared.domain import divisions
from incidents.evaluation.data import Evaluation, Goals
from incidents.evaluation.goals import DEFINITIONS, PERIOD_ZH
from incidents.incidence.figures import NOTES as INCIDENCE_NOTES
from incidents.inspections.report import NOTES as INSPECTION_NOTES
from incidents.inspections.report import InspectionReport
from incidents.reports import exports, trends
from incidents.reports.key_industries import NOTES as TABLE_NOTES
from incidents.reports.key_industries import KeyIndustryReport
from incidents.training.coverage import NOTES as TRAINING_NOTES

GOALS_SHEET: Final = "三项目标"
GOAL_HEADERS: Final = (
    "县(市、区)",
    "工伤事故发生率(‰)",
    "基期",
    "目标",
    "达标",
    "职业病发生率(1/10万)",
    "基期",
    "达标",
    "尘肺病发生率(1/10万)",
    "基期",
    "达标",
    "培训覆盖率",
    "目标",
    "达标",
    "未培训重点人员",
)
_GOAL_FIELDS: Final = (
    "division_name",
    "accident_rate_per_1000",
    "accident_baseline_per_1000",
    "accident_target_per_1000",
    "accident_goal_met",
    "incidence_per_100k",
    "incidence_baseline_per_100k",
    "incidence_goal_met",
    "pneumoconiosis_per_100k",
    "pneumoconiosis_baseline_per_100k",
    "pneumoconiosis_goal_met",
    "training_coverage",
    "training_coverage_target",
    "training_goal_met",
    "untrained_key_personnel",
)
# The key-industry table of the plan (exports.py) without its remarks column.
TABLE_FIELDS: Final = tuple(name for name, _ in exports.COLUMNS)
TABLE_HEADERS: Final = exports.HEADERS[:-1]
INSPECTION_HEADERS: Final = (
    "行业/县(市、区)",
    "检查次数",
    "发现问题",
    "按期整改",
    "逾期整改",
    "未整改",
    "其中逾期",
    "按期整改率",
)


def shown(value: Any) -> Any:
    """A cell's value: 是/否 for a judgement, — for an unknown."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def goal_cells(row: dict[str, Any]) -> list[Any]:
    return [shown(row[name]) for name in _GOAL_FIELDS]


def _header(sheet: Worksheet, row: int, headers: tuple[str, ...]) -> None:
    for column, text in enumerate(headers, start=1):
        sheet.cell(row=row, column=column, value=text).font = Font(bold=True)


def add_goals_sheet(book: Workbook, goals: Goals, title: str) -> Worksheet:
    sheet = book.create_sheet(GOALS_SHEET)
    sheet["A1"] = title
    sheet["A1"].font = Font(bold=True, size=14)
    _header(sheet, 3, GOAL_HEADERS)
    data = goals.as_dict()["rows"]
    for offset, row in enumerate(data, start=4):
        for column, value in enumerate(goal_cells(row), start=1):
            sheet.cell(row=offset, column=column, value=value)
    start = 5 + len(data)
    for index, (name, text) in enumerate(DEFINITIONS):
        sheet.cell(row=start + index, column=1, value=f"{name}: {text}")
    sheet.column_dimensions["A"].width = 14
    return sheet


def _table_sheet(book: Workbook, table: KeyIndustryReport) -> None:
    sheet = book.create_sheet(f"{table.year} 年重点行业")
    sheet["A1"] = f"重点行业企业基本情况表({table.year} 年, 时点 {table.stock_date})"
    sheet["A1"].font = Font(bold=True)
    _header(sheet, 3, TABLE_HEADERS)
    for offset, row in enumerate((*table.rows, table.total), start=4):
        figures = row.as_dict()
        sheet.cell(row=offset, column=1, value=row.industry_zh)
        for column, name in enumerate(TABLE_FIELDS, start=2):
            sheet.cell(row=offset, column=column, value=shown(figures[name]))
    sheet.column_dimensions["A"].width = 14


INSPECTION_FIELDS: Final = (
    "inspections",
    "findings",
    "rectified_on_time",
    "rectified_late",
    "open",
    "overdue",
    "on_time_rate",
)


def inspection_lines(record: InspectionReport) -> list[list[Any]]:
    data = record.as_dict()
    lines = []
    for row in (*data["rows"], data["total"], *data["counties"]):
        name = row.get("industry_zh") or row.get("division_name")
        lines.append([name] + [shown(row[k]) for k in INSPECTION_FIELDS])
    return lines


def add_inspection_sheet(book: Workbook, record: InspectionReport) -> None:
    sheet = book.create_sheet("检查整改")
    sheet["A1"] = f"联合检查整改情况({record.year} 年, 截至 {record.as_of})"
    sheet["A1"].font = Font(bold=True)
    _header(sheet, 3, INSPECTION_HEADERS)
    for offset, line in enumerate(inspection_lines(record), start=4):
        for column, value in enumerate(line, start=1):
            sheet.cell(row=offset, column=column, value=value)
    sheet.column_dimensions["A"].width = 16


ALL_NOTES: Final = (
    ("重点行业企业基本情况表", TABLE_NOTES),
    ("工伤事故发生率趋势", trends.TREND_NOTES),
    ("职业病发生率", INCIDENCE_NOTES),
    ("重点人员培训覆盖率", TRAINING_NOTES),
    ("联合检查整改", INSPECTION_NOTES),
)


def to_xlsx(evaluation: Evaluation, period: str) -> bytes:
    """三项目标, the 2020 and evaluation-year tables, 检查整改 and 指标定义."""
    book = Workbook()
    book.remove(book.active)
    goals = evaluation.goals
    name = divisions.name_of(goals.division_code)
    add_goals_sheet(book, goals, f"{name}工伤预防工作{PERIOD_ZH[period]}({goals.year} 年)")
    _table_sheet(book, evaluation.baseline_table)
    _table_sheet(book, evaluation.year_table)
    add_inspection_sheet(book, evaluation.inspections)
    sheet = book.create_sheet("指标定义")
    line = 1
    for title, notes in ALL_NOTES:
        sheet.cell(row=line, column=1, value=title).font = Font(bold=True)
        for note in notes:
            line += 1
            sheet.cell(row=line, column=1, value=note)
        line += 2
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
