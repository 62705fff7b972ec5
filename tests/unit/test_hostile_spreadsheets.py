"""A hostile upload is refused before it costs memory: zip members that inflate too far,
XML entities, blank rows past the cap."""

from __future__ import annotations

import io
import zipfile

import openpyxl.xml
import pytest
from openpyxl import Workbook

from enrollment.imports import importer
from enrollment.imports.importer import CSV, XLSX, open_upload
from hub_shared.web.auth import Principal
from hub_shared.web.errors import BadRequest, PayloadTooLarge, Unprocessable

HEADER = ["uscc", "name", "division_code", "industry_code", "employees"]
ROW = ["91370811MA3AY4C041", "济宁运河置业有限公司", "370811", "E4811", "12"]
AGENCY = Principal("agency", "client", frozenset({"enterprises:write"}), ("370800",))


def workbook(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_member(body: bytes, name: str, content: bytes) -> bytes:
    """The workbook with one part replaced (or added), deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info), zipfile.ZIP_DEFLATED)
        target.writestr(name, content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def member(body: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return archive.read(name)


def test_a_member_that_inflates_a_thousandfold_is_refused_unopened() -> None:
    plain = workbook([HEADER, ROW])
    part = SHEET
    padding = b"<row/>" * 4_000_000  # 24 MiB of XML, some 30 KiB zipped
    bomb = member(plain, SHEET).replace(b"</sheetData>", padding + b"</sheetData>")
    body = with_member(plain, part, bomb)
    assert len(body) < 200_000

    with pytest.raises(PayloadTooLarge, match=f"workbook part {part} inflates"):
        open_upload(body, XLSX)


def test_xml_entities_are_refused() -> None:
    assert openpyxl.xml.DEFUSEDXML is True  # defusedxml is installed with the service
    plain = workbook([HEADER, ROW])
    book = member(plain, "xl/workbook.xml")
    entities = b'<!DOCTYPE workbook [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    laughs = entities + book.replace(b'name="Sheet"', b'name="&b;"')
    assert laughs != entities + book
    with pytest.raises(BadRequest, match="not a readable XLSX"):
        open_upload(with_member(plain, "xl/workbook.xml", laughs), XLSX)


def test_blank_rows_count_toward_the_row_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "MAX_PHYSICAL_ROWS", 1000)
    text = ",".join(HEADER) + "\r\n" + ",".join(ROW) + "\r\n" + ",,,,\r\n" * 1500
    upload = open_upload(text.encode(), CSV)

    with pytest.raises(Unprocessable, match="blank ones included"):
        upload.read(AGENCY)


def test_an_ordinary_workbook_still_reads() -> None:
    parsed = open_upload(workbook([HEADER, ROW]), XLSX).read(AGENCY)

    assert (parsed.rows_total, [v.uscc for v in parsed.valid]) == (1, [ROW[0]])
