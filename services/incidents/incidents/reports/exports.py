"""The key-industry report as CSV (machine-readable) and XLSX (the plan's attached table)."""

from __future__ import annotations

import csv
import io
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from hub_shared.domain import divisions
from hub_shared.spreadsheets import neutral_fields, neutralise_workbook
from incidents.reports.key_industries import LIST_NAMES_ZH, NOTES, KeyIndustryReport, Row

CSV_FIELDS: Final = (
    "division_code",
    "year",
    "stock_date",
    "industry",
    "industry_zh",
    "lists",
    "enterprises",
    "insured_enterprises",
    "employees",
    "insured_employees",
    "coverage_rate",
    "enterprise_coverage_rate",
    "accidents",
    "accident_rate_per_1000",
    "deaths",
    "deaths_per_1000_employees",
)

TITLE: Final = "重点行业企业基本情况表"
HEADERS: Final = (
    "重点行业名称",
    "企业户数",
    "参保企业户数",
    "从业总人数",
    "参加工伤保险人数",
    "工伤保险参保率",
    "工伤事故数量",
    "工伤事故发生率",
    "备注",
)
# Field of each numeric column, and its number format.
COLUMNS: Final = (
    ("enterprises", "0"),
    ("insured_enterprises", "0"),
    ("employees", "0"),
    ("insured_employees", "0"),
    ("coverage_rate", "0.00%"),
    ("accidents", "0"),
    ("accident_rate_per_1000", '0.00"‰"'),
)
FILLERS: Final = ("填报单位(盖章):", "填报人:", "联系电话:")
HEADER_ROW: Final = 5
XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_csv(report: KeyIndustryReport) -> str:
    """One header row, one line per key industry, then the total."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    head = {
        "division_code": report.division_code,
        "year": report.year,
        "stock_date": report.stock_date.isoformat(),
    }
    for row in (*report.rows, report.total):
        values = row.as_dict()
        values["lists"] = "|".join(row.lists)
        writer.writerow(
            neutral_fields(head | {k: ("" if v is None else v) for k, v in values.items()})
        )
    return out.getvalue()


def _remark(row: Row, *, total: bool) -> str:
    figures = row.as_dict()
    if total:
        scope = "各行业有交叉, 每户企业、每起事故只计一次"
    else:
        scope = "、".join(LIST_NAMES_ZH[name] for name in row.lists) + "重点行业"
    deaths = f"死亡 {figures['deaths']} 人"
    per_1000 = figures["deaths_per_1000_employees"]
    if per_1000 is not None:
        deaths += f", 千人死亡率 {per_1000:.2f}‰"
    return f"{scope}; {deaths}"


def _cells(row: Row, *, total: bool) -> list[Any]:
    # Rates stay ratios; the cell formats show them: 0.85 -> 85.00%, 2.5 (per 1000) -> 2.50‰.
    figures = row.as_dict()
    return [row.industry_zh, *(figures[name] for name, _ in COLUMNS), _remark(row, total=total)]


def to_xlsx(report: KeyIndustryReport) -> bytes:
    """The plan's table: title, filler lines, Chinese headers, rows, total, notes."""
    book = Workbook()
    sheet = book.active
    sheet.title = f"{report.year}"
    last = get_column_letter(len(HEADERS))
    division = f"{divisions.name_of(report.division_code)}({report.division_code})"

    sheet["A1"] = TITLE
    sheet["A1"].font = Font(bold=True, size=16)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells(f"A1:{last}1")
    sheet["A2"] = (
        f"统计区域: {division}    统计年度: {report.year} 年    "
        f"时点数截至: {report.stock_date.isoformat()}"
    )
    sheet.merge_cells(f"A2:{last}2")
    for index, label in enumerate(FILLERS):
        column = 1 + index * 3
        sheet.cell(row=3, column=column, value=label)
        sheet.merge_cells(start_row=3, start_column=column, end_row=3, end_column=column + 2)

    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for column, header in enumerate(HEADERS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=column, value=header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
    lines = [(row, False) for row in report.rows] + [(report.total, True)]
    for offset, (row, total) in enumerate(lines, start=1):
        for column, value in enumerate(_cells(row, total=total), start=1):
            cell = sheet.cell(row=HEADER_ROW + offset, column=column, value=value)
            cell.border = border
            if 2 <= column <= len(COLUMNS) + 1:
                cell.number_format = COLUMNS[column - 2][1]
            if total:
                cell.font = Font(bold=True)

    notes_row = HEADER_ROW + len(lines) + 2
    sheet.cell(row=notes_row, column=1, value="说明:").font = Font(bold=True)
    for index, note in enumerate(NOTES, start=1):
        row_no = notes_row + index
        cell = sheet.cell(row=row_no, column=1, value=f"{index}. {note}")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(f"A{row_no}:{last}{row_no}")
        sheet.row_dimensions[row_no].height = 32

    for column, width in enumerate((16, 10, 12, 12, 16, 14, 12, 14, 48), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"

    neutralise_workbook(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
