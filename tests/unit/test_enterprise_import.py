"""Reading enterprise import files: encodings, XLSX, Chinese headers, per-row errors with
row numbers as a spreadsheet shows them, duplicates, and missing columns."""

from __future__ import annotations

import codecs
import io
from datetime import date

import pytest
from openpyxl import Workbook
from pydantic import ValidationError

from enrollment.imports import importer
from enrollment.imports.importer import CSV, XLSX, Issue, ParsedFile, ValidRow
from enrollment.registry.schemas import EnrollmentIn
from hub_shared.domain.identifiers import uscc_check_char
from hub_shared.web.auth import Principal
from hub_shared.web.errors import BadRequest, Unprocessable
from hub_shared.web.http import NUL_MESSAGE

CITY = Principal("agency", "client", frozenset({"enterprises:write"}), ("370800",))
RENCHENG = Principal("rencheng", "client", frozenset({"enterprises:write"}), ("370811",))
HEADER = "uscc,name,division_code,industry_code,employees"
ZH_HEADER = "统一社会信用代码,企业名称,行政区划代码,行业代码,从业人数"


def uscc(n: int) -> str:
    body = f"91370811{n:09d}"
    return body + uscc_check_char(body)


def parse(body: bytes, who: Principal = CITY, media: str = CSV, **kw: str) -> ParsedFile:
    return importer.open_upload(body, media, kw.get("charset")).read(who)


def csv_lines(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def workbook_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_utf8_csv_rows_are_validated_and_normalised_like_put_enterprise() -> None:
    body = csv_lines(HEADER, f"{uscc(1)},济宁甲建设有限公司,370811,E47,120").encode()
    parsed = parse(body)
    assert parsed.valid == [ValidRow(2, uscc(1), "济宁甲建设有限公司", "370811", "47", 120)]
    assert (parsed.rows_total, parsed.rows_failed, parsed.issues) == (1, 0, [])


def test_utf8_with_bom_reads_the_first_header_cell() -> None:
    body = codecs.BOM_UTF8 + csv_lines(HEADER, f"{uscc(1)},甲公司,370811,47,1").encode()
    assert [r.uscc for r in parse(body).valid] == [uscc(1)]


def test_gb18030_csv_with_chinese_headers_is_detected() -> None:
    text = csv_lines(ZH_HEADER, f"{uscc(2)},兖州乙矿业有限公司,370812,B06,35")
    body = text.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    parsed = parse(body)
    assert parsed.valid == [ValidRow(2, uscc(2), "兖州乙矿业有限公司", "370812", "06", 35)]


def test_gbk_body_declared_as_gbk_and_utf16_with_bom_decode() -> None:
    text = csv_lines(ZH_HEADER, f"{uscc(3)},鱼台丙公司,370827,C13,4")
    assert parse(text.encode("gbk"), charset="gbk").valid[0].name == "鱼台丙公司"
    utf16 = text.replace(",", "\t").encode("utf-16")  # Excel's "Unicode text": tab-separated
    assert parse(utf16).valid[0].name == "鱼台丙公司"


def test_semicolon_delimited_csv_is_recognised() -> None:
    body = csv_lines(HEADER.replace(",", ";"), f"{uscc(1)};甲公司;370811;47;1").encode()
    assert parse(body).valid[0].employees == 1


def test_bytes_that_are_no_known_text_are_400() -> None:
    with pytest.raises(BadRequest, match="neither UTF-8 nor GB18030"):
        importer.open_upload(b"uscc\xff\xfe\xff", CSV)


def test_xlsx_built_in_memory_with_numeric_cells_title_row_and_free_column_order() -> None:
    wb = Workbook()
    notes = wb.active
    assert notes is not None
    notes.title = "填表说明"
    notes.append(["请在第二个工作表填写"])
    data = wb.create_sheet("企业名录")
    data.append(["济宁市重点行业企业名录"])  # a title row above the header
    data.append(
        ["从业人数（人）", "备注", "*统一社会信用代码", "单位名称", "行业代码", "行政区划代码"]
    )
    data.append([120.0, "ignored", uscc(4), "邹城丁化工有限公司", "2614", 370883])
    data.append([None, None, None, None, None, None])
    data.append([7, None, uscc(5), "曲阜戊公司", "E48", "370881"])
    parsed = parse(workbook_bytes(wb), media=XLSX)
    assert parsed.valid == [
        ValidRow(3, uscc(4), "邹城丁化工有限公司", "370883", "26", 120),
        ValidRow(5, uscc(5), "曲阜戊公司", "370881", "48", 7),
    ]
    assert parsed.rows_total == 2


def test_body_that_is_not_a_workbook_is_400() -> None:
    with pytest.raises(BadRequest, match="not a readable XLSX"):
        importer.open_upload(b"PK\x03\x04 not really a zip", XLSX)


def test_every_bad_row_is_reported_with_its_row_number_column_and_message() -> None:
    good = uscc(1)
    bad_check = uscc(2)[:17] + ("0" if uscc(2)[17] != "0" else "1")
    body = csv_lines(
        HEADER,
        f"{good},甲公司,370811,47,10",  # row 2
        "",  # row 3: blank, skipped but counted as a row of the sheet
        f"{bad_check},乙公司,370811,47,10",  # row 4
        f"{uscc(3)},,999999,Z9,-1",  # row 5
        f"{uscc(6)},己公司,370811,47,many",  # row 6
        ",庚公司,370811,47,1",  # row 7
    ).encode()
    parsed = parse(body)
    assert [r.row for r in parsed.valid] == [2]
    assert (parsed.rows_total, parsed.rows_failed) == (5, 4)
    got = {(i.row, i.column) for i in parsed.issues}
    assert got == {
        (4, "uscc"),
        (5, "name"),
        (5, "division_code"),
        (5, "industry_code"),
        (5, "employees"),
        (6, "employees"),
        (7, "uscc"),
    }
    by_place = {(i.row, i.column): i.msg for i in parsed.issues}
    assert "check character" in by_place[(4, "uscc")]
    assert "unknown division code '999999'" in by_place[(5, "division_code")]
    assert by_place[(7, "uscc")] == "Field required"
    assert all(i.level == "error" for i in parsed.issues)


def test_rows_outside_the_callers_divisions_are_row_errors() -> None:
    body = csv_lines(
        HEADER, f"{uscc(1)},任城甲公司,370811,47,1", f"{uscc(2)},兖州乙公司,370812,47,1"
    ).encode()
    parsed = parse(body, RENCHENG)
    assert [r.uscc for r in parsed.valid] == [uscc(1)]
    assert parsed.issues == [
        Issue(3, "division_code", "division 370812 is outside this credential's divisions")
    ]


def test_duplicate_uscc_last_row_wins_and_earlier_rows_are_warnings() -> None:
    body = csv_lines(
        HEADER,
        f"{uscc(1)},第一版,370811,47,1",
        f"{uscc(2)},乙公司,370811,47,1",
        f"{uscc(1)},第二版,370811,47,2",
        f"{uscc(1)},第三版,370811,47,3",
    ).encode()
    parsed = parse(body)
    assert [(r.row, r.name) for r in parsed.valid] == [(3, "乙公司"), (5, "第三版")]
    assert [(i.row, i.level) for i in parsed.issues] == [(2, "warning"), (4, "warning")]
    assert "appears again in row 4" in parsed.issues[0].msg
    assert (parsed.rows_total, parsed.duplicates, parsed.rows_failed) == (4, 2, 0)


def test_missing_required_columns_are_422_naming_each_of_them() -> None:
    body = csv_lines("统一社会信用代码,企业名称,备注", f"{uscc(1)},甲公司,x").encode()
    with pytest.raises(Unprocessable) as caught:
        importer.open_upload(body, CSV)
    assert caught.value.detail == (
        "missing required column(s): division_code, industry_code, employees"
    )
    assert [e["loc"] for e in caught.value.errors] == [
        ["body", "header", "division_code"],
        ["body", "header", "industry_code"],
        ["body", "header", "employees"],
    ]
    assert "行政区划代码" in caught.value.errors[0]["msg"]


def test_two_columns_giving_the_same_field_are_422() -> None:
    body = csv_lines(HEADER + ",单位名称", f"{uscc(1)},甲公司,370811,47,1,乙").encode()
    with pytest.raises(Unprocessable, match="both give name"):
        importer.open_upload(body, CSV)


def test_an_empty_file_has_no_header_and_is_422() -> None:
    with pytest.raises(Unprocessable, match="no header row"):
        importer.open_upload(b"\r\n\r\n", CSV)


def test_more_rows_than_the_limit_fail_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "MAX_ROWS", 2)
    body = csv_lines(HEADER, *(f"{uscc(n)},公司{n},370811,47,1" for n in range(3))).encode()
    with pytest.raises(Unprocessable, match="more than 2 rows"):
        parse(body)


def test_a_headcount_past_ten_million_is_a_row_error_not_a_database_overflow() -> None:
    body = csv_lines(
        HEADER,
        f"{uscc(1)},甲公司,370811,47,10000000",
        f"{uscc(2)},乙公司,370811,47,2514946052649302710167622404538368",
    ).encode()
    parsed = parse(body)
    assert [r.employees for r in parsed.valid] == [10_000_000]
    assert [(i.row, i.column) for i in parsed.issues] == [(3, "employees")]
    with pytest.raises(ValidationError, match="insured_headcount"):
        EnrollmentIn(
            enrollment_id="E-1", kind="employer", employer_uscc=uscc(1), employer_name="甲公司",
            division_code="370811", insured_headcount=10**12, valid_from=date(2025, 1, 1),
        )  # fmt: skip


def test_a_nul_in_a_cell_is_a_row_error_naming_its_column() -> None:
    body = csv_lines(
        HEADER, f"{uscc(1)},甲\u0000公司,370811,47,10", f"{uscc(2)},乙公司,370811,47,5"
    )
    parsed = parse(body.encode())
    assert [r.row for r in parsed.valid] == [3]
    assert [(i.row, i.column, i.msg) for i in parsed.issues] == [(2, "name", NUL_MESSAGE)]
