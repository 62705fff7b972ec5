"""Reading a key-personnel roster from CSV (UTF-8 or GB18030) or XLSX, as pure functions:
the header (English or Chinese column names), then each row validated like
`POST /v1/key-personnel`. A bad row never stops the file: it becomes issues naming its
columns, without the cell values (ID numbers are never echoed)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from openpyxl import load_workbook
from pydantic import ValidationError

from hub_shared.import_jobs.cells import cell_text, header_key, nul_columns
from hub_shared.web.errors import BadRequest, Unprocessable
from hub_shared.web.http import NUL_MESSAGE
from incidents.training.roles import ROLES_ZH
from incidents.training.schemas import KeyPersonIn

CSV: Final = "text/csv"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REQUIRED: Final = (
    "uscc",
    "name",
    "division_code",
    "industry_code",
    "role",
    "id_number",
    "person_name",
)
ALIASES: Final = {
    **{column: column for column in (*REQUIRED, "listed_on")},
    "统一社会信用代码": "uscc",
    "单位名称": "name",
    "企业名称": "name",
    "行政区划代码": "division_code",
    "行业代码": "industry_code",
    "岗位": "role",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "姓名": "person_name",
    "登记日期": "listed_on",
}
ROLE_OF_ZH: Final = {zh: role for role, zh in ROLES_ZH.items()}
_FIELD_COLUMN: Final = {
    "enterprise.uscc": "uscc",
    "enterprise.name": "name",
    "person_id_number": "id_number",
    "division_code": "division_code",
    "industry_code": "industry_code",
    "role": "role",
    "person_name": "person_name",
    "listed_on": "listed_on",
}


@dataclass(frozen=True)
class Issue:
    row_no: int
    column: str
    msg: str


@dataclass
class Parsed:
    rows_total: int = 0
    valid: list[tuple[int, KeyPersonIn]] = field(default_factory=list)  # (row, person)
    issues: list[Issue] = field(default_factory=list)


def _decode(body: bytes) -> str:
    candidates = ["utf-8-sig"] if body.startswith(codecs.BOM_UTF8) else ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadRequest("the CSV is neither UTF-8 nor GB18030/GBK text")


def rows_of(body: bytes, media_type: str) -> list[list[Any]]:
    """Every row of the file (of the first sheet of a workbook); 400 when unreadable."""
    if media_type == XLSX:
        try:
            book = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl fails in many ways on foreign bytes
            raise BadRequest(f"the body is not a readable XLSX workbook: {exc}") from exc
        try:
            return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    try:
        return [list(row) for row in csv.reader(io.StringIO(_decode(body), newline=""))]
    except csv.Error as exc:
        raise BadRequest(f"the CSV cannot be read: {exc}") from exc


def header(rows: list[list[Any]]) -> tuple[int, dict[str, int]]:
    """The first non-blank row as the header, and each column's position; 422 naming
    every missing column."""
    for index, cells in enumerate(rows):
        if any(cell_text(c) for c in cells):
            columns: dict[str, int] = {}
            for position, cell in enumerate(cells):
                name = ALIASES.get(header_key(cell))
                if name is not None:
                    columns.setdefault(name, position)
            missing = [c for c in REQUIRED if c not in columns]
            if missing:
                raise Unprocessable(
                    f"missing required column(s): {', '.join(missing)}",
                    [
                        {"loc": ["body", "header", c], "msg": "required column missing"}
                        for c in missing
                    ],
                )
            return index, columns
    raise Unprocessable("the file has no header row", [{"loc": ["body"], "msg": "empty"}])


def parse(rows: list[list[Any]]) -> Parsed:
    """Validate every data row; row numbers as a spreadsheet shows them (1-based)."""
    head, columns = header(rows)
    parsed = Parsed()
    for index in range(head + 1, len(rows)):
        cells = rows[index]
        values = {c: cell_text(cells[p]) if p < len(cells) else "" for c, p in columns.items()}
        if not any(values.values()):
            continue
        parsed.rows_total += 1
        if refused := nul_columns(values):
            parsed.issues += [Issue(index + 1, column, NUL_MESSAGE) for column in refused]
            continue
        body: dict[str, Any] = {
            "enterprise": {"uscc": values["uscc"], "name": values["name"]},
            "division_code": values["division_code"],
            "industry_code": values["industry_code"],
            "role": ROLE_OF_ZH.get(values["role"], values["role"]),
            "person_id_number": values["id_number"],
            "person_name": values["person_name"],
        }
        if values.get("listed_on"):
            body["listed_on"] = values["listed_on"][:10]
        try:
            parsed.valid.append((index + 1, KeyPersonIn.model_validate(body)))
        except ValidationError as exc:
            for error in exc.errors(include_input=False):
                where = ".".join(str(part) for part in error["loc"])
                parsed.issues.append(
                    Issue(index + 1, _FIELD_COLUMN.get(where, where), error["msg"])
                )
    return parsed


def rows_with_issues(parsed: Parsed) -> int:
    return len({issue.row_no for issue in parsed.issues})


def split(items: list[KeyPersonIn], size: int) -> Iterator[list[KeyPersonIn]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
