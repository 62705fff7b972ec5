"""The coverage report as CSV (one line per key industry and role) and XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Font

from incidents.training.coverage import NOTES, CoverageReport

CSV_FIELDS: Final = ("division_code", "as_of", "industry", "industry_zh", "role", "role_zh",
                     "key_personnel", "trained", "coverage", "gap")  # fmt: skip
TITLE: Final = "重点行业企业重点人员工伤预防培训覆盖情况"


def _lines(report: CoverageReport) -> list[dict[str, Any]]:
    data = report.as_dict()
    head = {"division_code": report.division_code, "as_of": report.as_of.isoformat()}
    lines = []
    for row in (*data["rows"], data["total"]):
        industry = {"industry": row["industry"], "industry_zh": row["industry_zh"]}
        for role in row["roles"]:
            lines.append(head | industry | role)
        lines.append(head | industry | {"role": "all", "role_zh": "合计"} | {
            k: row[k] for k in ("key_personnel", "trained", "coverage", "gap")
        })  # fmt: skip
    return lines


def to_csv(report: CoverageReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\r\n"
    )
    writer.writeheader()
    for line in _lines(report):
        writer.writerow({k: "" if v is None else v for k, v in line.items()})
    return out.getvalue()


def to_xlsx(report: CoverageReport) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "培训覆盖"
    sheet["A1"] = TITLE
    sheet["A1"].font = Font(bold=True, size=14)
    region = f"{report.as_dict()['division_name']}({report.division_code})"
    sheet["A2"] = f"统计区域: {region}    截至: {report.as_of}"
    headers = ("重点行业", "岗位", "重点人员数", "已培训", "覆盖率", "差距(人)")
    for column, text in enumerate(headers, start=1):
        sheet.cell(row=4, column=column, value=text).font = Font(bold=True)
    for offset, line in enumerate(_lines(report), start=5):
        values = (line["industry_zh"], line["role_zh"], line["key_personnel"], line["trained"],
                  line["coverage"], line["gap"])  # fmt: skip
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=offset, column=column, value=value)
            if column == 5:
                cell.number_format = "0.00%"
    last = 6 + len(_lines(report))
    for index, note in enumerate(NOTES, start=1):
        sheet.cell(row=last + index, column=1, value=f"{index}. {note}")
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
