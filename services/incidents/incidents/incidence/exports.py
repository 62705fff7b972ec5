"""The incidence as extra columns of the key-industry export (after the plan's own columns)
and as a sheet of the annual submission."""

from __future__ import annotations

import csv
import io
from typing import Final

from openpyxl import load_workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook

from incidents.incidence.figures import NOTES, IncidenceTable
from incidents.incidence.trend import IncidenceTrend
from incidents.reports import exports
from incidents.reports.key_industries import NOTES as REPORT_NOTES

# (CSV field, XLSX header, number format) of each extra column.
COLUMNS: Final = (
    ("new_cases", "职业病新发病例数", "0"),
    ("incidence_per_100k", "职业病发生率(1/10万)", "0.00"),
    ("pneumoconiosis_cases", "尘肺病新发病例数", "0"),
    ("pneumoconiosis_per_100k", "尘肺病发生率(1/10万)", "0.00"),
)
SHEET: Final = "职业病发生率"
_THIN = Side(style="thin")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _values(table: IncidenceTable) -> dict[str, dict[str, object]]:
    return {row.industry: row.as_dict() for row in (*table.rows, table.total)}


def add_to_csv(text: str, table: IncidenceTable) -> str:
    """The key-industry CSV with the incidence fields appended to every line."""
    values = _values(table)
    reader = csv.DictReader(io.StringIO(text))
    fields = [*(reader.fieldnames or ()), *(name for name, _, _ in COLUMNS)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    for line in reader:
        extra = values[line["industry"]]
        writer.writerow(
            line | {name: "" if extra[name] is None else extra[name] for name, _, _ in COLUMNS}
        )
    return out.getvalue()


def add_to_sheet(book: Workbook, table: IncidenceTable) -> None:
    """Columns after 备注 on the key-industry sheet (the first), one per figure."""
    sheet = book.worksheets[0]
    first = len(exports.HEADERS) + 1
    lines = [*table.rows, table.total]
    for offset, (name, header, fmt) in enumerate(COLUMNS):
        column = first + offset
        head = sheet.cell(row=exports.HEADER_ROW, column=column, value=header)
        head.font = Font(bold=True)
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        head.border = _BORDER
        for index, row in enumerate(lines, start=1):
            value = row.as_dict()[name]
            cell = sheet.cell(row=exports.HEADER_ROW + index, column=column, value=value)
            cell.number_format = fmt
            cell.border = _BORDER
            if row is table.total:
                cell.font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(column)].width = 14
    notes_row = exports.HEADER_ROW + len(lines) + 3 + len(REPORT_NOTES)
    for index, note in enumerate(NOTES, start=1):
        number = len(REPORT_NOTES) + index
        sheet.cell(row=notes_row + index - 1, column=1, value=f"{number}. {note}")


def add_to_xlsx(content: bytes, table: IncidenceTable) -> bytes:
    """The key-industry workbook with the incidence columns and their notes."""
    book = load_workbook(io.BytesIO(content))
    add_to_sheet(book, table)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def add_trend_sheet(book: Workbook, trend: IncidenceTrend) -> None:
    """A sheet of the annual submission: the incidence per year of the total and each row."""
    sheet = book.create_sheet(SHEET)
    sheet["A1"] = "职业病发生率(每 10 万参保职工新发病例)"
    sheet["A1"].font = Font(bold=True, size=14)
    headers = ("重点行业名称", "年度", "新发病例", "发生率", "基期", "较基期", "尘肺病新发",
               "尘肺病发生率", "尘肺病基期", "较基期")  # fmt: skip
    for column, text in enumerate(headers, start=1):
        cell = sheet.cell(row=3, column=column, value=text)
        cell.font = Font(bold=True)
        cell.border = _BORDER
    data = trend.as_dict()
    row_no = 4
    for series in (data["total"], *data["industries"]):
        for point in series["years"]:
            values = (
                series["industry_zh"], point["year"], point["new_cases"],
                point["incidence_per_100k"], point["incidence_baseline_per_100k"],
                DIRECTION_ZH.get(point["incidence_direction"], "—"),
                point["pneumoconiosis_cases"], point["pneumoconiosis_per_100k"],
                point["pneumoconiosis_baseline_per_100k"],
                DIRECTION_ZH.get(point["pneumoconiosis_direction"], "—"),
            )  # fmt: skip
            for column, value in enumerate(values, start=1):
                sheet.cell(row=row_no, column=column, value=value).border = _BORDER
            row_no += 1
    for index, note in enumerate(NOTES, start=1):
        sheet.cell(row=row_no + index, column=1, value=f"{index}. {note}")
    sheet.column_dimensions["A"].width = 18


DIRECTION_ZH: Final = {"falling": "下降", "rising": "上升", "flat": "持平"}
