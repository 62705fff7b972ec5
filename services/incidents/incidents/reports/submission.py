"""The annual submission (年度报送材料) of a division: the key-industry table of the year, the
accident-rate trend from 2020 on against the baseline and the 20% target, and the headline
numbers, as one XLSX workbook or one printable HTML page.

Routes are added to `insights.router` (insights.py imports this module once, at its end).
Authentication (page_links.py): the bearer header, or a one-use link id from
POST /v1/reports/links as `?link=` (a plain link to a download, no token in it).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from fastapi import Query, Request, Response
from openpyxl import load_workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import Field

from hub_shared.domain import divisions
from hub_shared.spreadsheets import neutralise_workbook
from hub_shared.web.dependencies import RuntimeDep
from hub_shared.web.openapi_docs import answered_as
from incidents.evaluation import workbook as goal_workbook
from incidents.evaluation.data import Goals, goals_of
from incidents.evaluation.goals import DEFINITIONS
from incidents.incidence import data as incidence_data
from incidents.incidence import exports as incidence_exports
from incidents.incidence.trend import IncidenceTrend
from incidents.inspections import data as inspection_data
from incidents.inspections.report import InspectionReport
from incidents.reports import exports, key_industry_data, pages, trend_data, trends
from incidents.reports.key_industries import NOTES, KeyIndustryReport
from incidents.reports.page_links import page_principal
from incidents.reports.queries import YearQuery
from incidents.reports.routes import router

TITLE: Final = "工伤预防年度报送材料"
TREND_SHEET: Final = "趋势"
HEADLINE_SHEET: Final = "要点"
_THIN = Side(style="thin")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


class SubmissionQuery(YearQuery):
    year: Annotated[int, Field(ge=trends.BASELINE_YEAR)]
    format: Literal["xlsx", "html"] = "html"


@dataclass(frozen=True)
class Submission:
    table: KeyIndustryReport
    trend: trends.TrendReport
    incidence: IncidenceTrend
    goals: Goals
    inspections: InspectionReport

    @property
    def division_name(self) -> str:
        return divisions.name_of(self.table.division_code)

    def headlines(self) -> list[tuple[str, Any, str]]:
        """(label, value, number format) of the headline numbers; None when unknown."""
        figures = self.table.total.as_dict()
        total = self.trend.total
        last = total.points[-1]
        rate, baseline = figures["accident_rate_per_1000"], total.baseline
        change = None if rate is None or not baseline else round(rate / baseline - 1, 4)
        track = None if last.on_track is None else ("是" if last.on_track else "否")
        return [
            ("企业户数", figures["enterprises"], "0"),
            ("参保企业户数", figures["insured_enterprises"], "0"),
            ("工伤保险参保率", figures["coverage_rate"], "0.00%"),
            ("参加工伤保险人数", figures["insured_employees"], "0"),
            ("工伤事故数量", figures["accidents"], "0"),
            ("死亡人数", figures["deaths"], "0"),
            ("工伤事故发生率", rate, '0.00"‰"'),
            (f"基期({trends.BASELINE_YEAR} 年)发生率", baseline, '0.00"‰"'),
            (f"{self.table.year} 年目标发生率", last.target, '0.00"‰"'),
            (f"较 {trends.BASELINE_YEAR} 年变化", change, "0.00%"),
            ("是否达标", track, "@"),
        ]

    def trend_rows(self) -> list[tuple[str, int, float | None, float | None, float | None]]:
        """(industry, year, rate, baseline, target): the total first, then each industry."""
        return [
            (series.industry_zh, point.year, point.rate, series.baseline, point.target)
            for series in (self.trend.total, *self.trend.industries)
            for point in series.points
        ]


async def load(runtime: RuntimeDep, division_code: str, year: int) -> Submission:
    table = await key_industry_data.key_industry_report(
        sessions=runtime.sessions, division_code=division_code, year=year
    )
    trend = await trend_data.trend_report(
        sessions=runtime.sessions,
        division_code=division_code,
        from_year=trends.BASELINE_YEAR,
        to_year=year,
    )
    incidence = await incidence_data.incidence_trend(
        sessions=runtime.sessions,
        division_code=division_code,
        from_year=trends.BASELINE_YEAR,
        to_year=year,
    )
    goals = await goals_of(sessions=runtime.sessions, division_code=division_code, year=year)
    record = await inspection_data.report_of(
        sessions=runtime.sessions, division_code=division_code, year=year
    )
    return Submission(table, trend, incidence, goals, record)


def _heading(sheet: Worksheet, title: str, subtitle: str, width: int) -> None:
    last = get_column_letter(width)
    sheet["A1"] = title
    sheet["A1"].font = Font(bold=True, size=16)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells(f"A1:{last}1")
    sheet["A2"] = subtitle
    sheet.merge_cells(f"A2:{last}2")


def _header(sheet: Worksheet, row: int, headers: tuple[str, ...]) -> None:
    for column, text in enumerate(headers, start=1):
        cell = sheet.cell(row=row, column=column, value=text)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
        cell.border = _BORDER


def to_xlsx(submission: Submission) -> bytes:
    """Sheet 1 the key-industry table (exports.py), 2 趋势, 3 要点 with the filler lines."""
    book = load_workbook(io.BytesIO(exports.to_xlsx(submission.table)))
    table = submission.table
    region = f"{submission.division_name}({table.division_code})"
    years = f"{trends.BASELINE_YEAR}–{table.year}"

    trend = book.create_sheet(TREND_SHEET)
    _heading(trend, "重点行业工伤事故发生率趋势", f"统计区域: {region}    年度: {years}", 5)
    _header(trend, 4, ("重点行业名称", "年度", "工伤事故发生率", "基期发生率", "目标发生率"))
    for offset, values in enumerate(submission.trend_rows(), start=5):
        for column, value in enumerate(values, start=1):
            cell = trend.cell(row=offset, column=column, value=value)
            cell.border = _BORDER
            if column >= 3:
                cell.number_format = '0.00"‰"'
    note_row = 6 + len(submission.trend_rows())
    for index, note in enumerate(trends.TREND_NOTES):
        trend.cell(row=note_row + index, column=1, value=f"{index + 1}. {note}")
    for column, width in enumerate((16, 8, 16, 14, 14), start=1):
        trend.column_dimensions[get_column_letter(column)].width = width

    head = book.create_sheet(HEADLINE_SHEET)
    _heading(head, TITLE, f"统计区域: {region}    统计年度: {table.year} 年", 2)
    for index, label in enumerate(exports.FILLERS, start=3):
        head.cell(row=index, column=1, value=label)
    _header(head, 7, ("指标", "数值"))
    for offset, (label, value, fmt) in enumerate(submission.headlines(), start=8):
        head.cell(row=offset, column=1, value=label).border = _BORDER
        cell = head.cell(row=offset, column=2, value="—" if value is None else value)
        cell.number_format = fmt
        cell.border = _BORDER
    incidence_exports.add_trend_sheet(book, submission.incidence)
    goal_title = f"{submission.division_name}{table.year} 年规划三项目标"
    goal_workbook.add_goals_sheet(book, submission.goals, goal_title)
    goal_workbook.add_inspection_sheet(book, submission.inspections)
    head.column_dimensions["A"].width = 24
    head.column_dimensions["B"].width = 18

    neutralise_workbook(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _shown(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    if fmt == "0.00%":
        return f"{value * 100:.2f}%"
    if fmt == '0.00"‰"':
        return f"{value:.2f}‰"
    return str(value)


@router.get(
    "/v1/reports/annual-submission",
    response_model=None,
    tags=["reports"],
    responses=answered_as("the annual submission", "text/html", exports.XLSX_MEDIA_TYPE),
)
async def annual_submission(
    request: Request,
    query: Annotated[SubmissionQuery, Query()],
    runtime: RuntimeDep,
    link: Annotated[str | None, Query(description="a link id from POST /v1/reports/links")] = None,
) -> Response:
    """年度报送材料: the key-industry table, the trend and the headline numbers."""
    principal, _by_link = await page_principal(request, link, None)
    principal.require("reports:read")
    principal.require_division(query.division_code)
    submission = await load(runtime, query.division_code, query.year)
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if query.format == "xlsx":
        name = f"annual-submission-{query.division_code}-{query.year}.xlsx"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return Response(to_xlsx(submission), media_type=exports.XLSX_MEDIA_TYPE, headers=headers)
    table = submission.table
    context = {
        "title": TITLE,
        "division_name": submission.division_name,
        "division_code": table.division_code,
        "year": table.year,
        "stock_date": table.stock_date.isoformat(),
        "headers": exports.HEADERS,
        "rows": [
            [row.industry_zh]
            + [_shown(row.as_dict()[name], fmt) for name, fmt in exports.COLUMNS]
            + [exports._remark(row, total=row is table.total)]
            for row in (*table.rows, table.total)
        ],
        "notes": [*NOTES],
        "trend_notes": [*trends.TREND_NOTES],
        "trend": [
            (name, year, *(_shown(v, '0.00"‰"') for v in rest))
            for name, year, *rest in submission.trend_rows()
        ],
        "headlines": [(label, _shown(v, fmt)) for label, v, fmt in submission.headlines()],
        "fillers": exports.FILLERS,
        "baseline_year": trends.BASELINE_YEAR,
        "incidence": submission.incidence.as_dict(),
        "goals_year": table.year,
        "goals_division": table.division_code,
        "goal_headers": goal_workbook.GOAL_HEADERS,
        "goal_rows": [goal_workbook.goal_cells(r) for r in submission.goals.as_dict()["rows"]],
        "goal_definitions": DEFINITIONS,
        "inspection_headers": goal_workbook.INSPECTION_HEADERS,
        "inspections": goal_workbook.inspection_lines(submission.inspections),
    }
    response = pages.templates.TemplateResponse(request, "submission.html", context)
    response.headers.update(headers)
    return response
