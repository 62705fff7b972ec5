"""Bulk enterprise import (docs/interfaces.md §5): read a CSV or XLSX file, validate every row
like `PUT /v1/enterprises/{uscc}`, and apply the valid rows in batches with bulk SQL.

Reading is pure and runs in a worker thread; a bad row never stops the file, it becomes an
`Issue` (row number as a spreadsheet shows it, header = its own row, canonical column name).
Applying stages `enterprise.registered` / `enterprise.updated` through the outbox in the
batch's transaction; unchanged rows stage nothing, so importing a file again is a no-op.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any, Literal, NamedTuple

from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment.imports.upload_guard import check_xlsx_archive
from enrollment.registry.schemas import EnterpriseIn
from enrollment.tables import Enterprise
from hub_shared import clock
from hub_shared.domain.identifiers import validate_uscc
from hub_shared.import_jobs.cells import cell_text, nul_columns
from hub_shared.import_jobs.cells import header_key as common_header_key
from hub_shared.messaging.events import EnterpriseData
from hub_shared.messaging.outbox import insert_staged, outbox_row
from hub_shared.storage.db import table_of
from hub_shared.web.auth import Principal
from hub_shared.web.errors import BadRequest, Unprocessable, field_errors
from hub_shared.web.http import NUL_MESSAGE

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 500_000
# Rows as the file holds them, blank ones too: blank rows are skipped, not free.
MAX_PHYSICAL_ROWS = 550_000
COLUMNS = ("uscc", "name", "division_code", "industry_code", "employees")
# Headers as agency spreadsheets write them; matched after NFKC, lower-casing and dropping
# whitespace, a "*" required-marker and a trailing unit such as "(人)".
HEADER_ALIASES = {
    **{column: column for column in COLUMNS},
    "统一社会信用代码": "uscc",
    "单位名称": "name",
    "企业名称": "name",
    "行政区划代码": "division_code",
    "行业代码": "industry_code",
    "从业人数": "employees",
}
_CHINESE = {
    "uscc": "统一社会信用代码",
    "name": "单位名称/企业名称",
    "division_code": "行政区划代码",
    "industry_code": "行业代码",
    "employees": "从业人数",
}
# Title rows above the header are common in government sheets: look this far for it.
_HEADER_SEARCH_ROWS = 10
_UNIT_SUFFIX = re.compile(r"\([^()]*\)$")

Cells = Sequence[object]
Rows = Generator[tuple[int, Cells], None, None]
RowSource = Callable[[], Rows]


@dataclass(frozen=True)
class Issue:
    """A problem with one row: an error (row not applied) or a warning (row superseded)."""

    row: int
    column: str
    msg: str
    level: Literal["error", "warning"] = "error"


class ValidRow(NamedTuple):
    row: int
    uscc: str
    name: str
    division_code: str
    industry_code: str
    employees: int


@dataclass
class ParsedFile:
    rows_total: int
    valid: list[ValidRow]
    issues: list[Issue]
    rows_failed: int
    duplicates: int


@dataclass(frozen=True)
class Upload:
    """A file whose header has been found and checked; `read()` validates every row."""

    header_row: int
    columns: dict[str, int]  # canonical column -> cell index
    rows: RowSource

    def data_rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        with closing(self.rows()) as rows:
            for row_no, cells in rows:
                if row_no > MAX_PHYSICAL_ROWS:
                    raise Unprocessable(
                        f"the file has more than {MAX_PHYSICAL_ROWS:,} rows, blank ones "
                        "included; split it"
                    )
                if row_no <= self.header_row:
                    continue
                values = {
                    column: cell_text(cells[i]) if i < len(cells) else ""
                    for column, i in self.columns.items()
                }
                if any(values.values()):
                    yield row_no, values

    def read(self, principal: Principal) -> ParsedFile:
        return validate_rows(self.data_rows(), principal)


def open_upload(body: bytes, media_type: str, charset: str | None = None) -> Upload:
    """The file's header and a way to read its rows; 400 unreadable, 422 columns missing."""
    if media_type == XLSX:
        return _open_xlsx(body)
    text = decode_csv(body, charset)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)
    source: RowSource = partial(_csv_rows, text, delimiter)
    with closing(source()) as rows:
        header_row, columns = find_header(rows)
    return Upload(header_row, columns, source)


def decode_csv(body: bytes, charset: str | None = None) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; otherwise the declared charset, then
    GB18030 (a superset of GBK). Valid UTF-8 wins over a declared charset: Chinese text in
    GBK is practically never valid UTF-8, while clients often declare charsets wrongly."""
    if body.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", *([charset] if charset else []), "gb18030"]
    for encoding in candidates:
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise BadRequest("the CSV is neither UTF-8 nor GB18030/GBK text")


def _csv_rows(text: str, delimiter: str) -> Rows:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    row_no = 0
    try:
        for row_no, cells in enumerate(reader, start=1):
            yield row_no, cells
    except csv.Error as exc:
        raise BadRequest(f"CSV row {row_no + 1} cannot be read: {exc}") from exc


def _open_workbook(body: bytes) -> Any:
    check_xlsx_archive(body)
    try:
        return load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl fails in many ways on foreign bytes
        raise BadRequest(f"the body is not a readable XLSX workbook: {exc}") from exc


def _sheet_rows(worksheet: Any) -> Rows:
    # Stored dimensions are often wrong in generated files: read to the real end.
    worksheet.reset_dimensions()
    yield from enumerate(worksheet.iter_rows(min_row=1, values_only=True), start=1)


def _xlsx_rows(body: bytes, sheet: int) -> Rows:
    workbook = _open_workbook(body)
    try:
        yield from _sheet_rows(workbook.worksheets[sheet])
    finally:
        workbook.close()


def _open_xlsx(body: bytes) -> Upload:
    """The first sheet whose header has every column (instruction sheets may come first).
    The workbook is opened once here: openpyxl parses all shared strings on every open."""
    workbook = _open_workbook(body)
    first_problem: Unprocessable | None = None
    try:
        for sheet, worksheet in enumerate(workbook.worksheets):
            try:
                with closing(_sheet_rows(worksheet)) as rows:
                    header_row, columns = find_header(rows)
            except Unprocessable as exc:
                first_problem = first_problem or exc
                continue
            return Upload(header_row, columns, partial(_xlsx_rows, body, sheet))
    finally:
        workbook.close()
    raise first_problem or Unprocessable(
        "the workbook has no worksheet", [{"loc": ["body"], "msg": "no worksheet"}]
    )


def header_key(cell: object) -> str:
    """As every import compares headers, and without a trailing unit such as `(人)`."""
    return _UNIT_SUFFIX.sub("", common_header_key(cell))


def find_header(rows: Iterable[tuple[int, Cells]]) -> tuple[int, dict[str, int]]:
    """The header row (the first non-blank row naming two known columns among the first
    rows, else the first non-blank row) and its column positions; 422 when any is missing."""
    chosen: tuple[int, Cells] | None = None
    for row_no, cells in islice(rows, _HEADER_SEARCH_ROWS):
        keys = [HEADER_ALIASES.get(header_key(c)) for c in cells]
        if not any(cell_text(c) for c in cells):
            continue
        chosen = chosen or (row_no, cells)
        if sum(k is not None for k in keys) >= 2:
            chosen = (row_no, cells)
            break
    if chosen is None:
        raise Unprocessable("the file has no header row", [{"loc": ["body"], "msg": "empty"}])
    row_no, cells = chosen
    columns: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    for index, cell in enumerate(cells):
        column = HEADER_ALIASES.get(header_key(cell))
        if column is None:
            continue  # unknown columns are ignored
        if column in columns:
            msg = f"columns {columns[column] + 1} and {index + 1} both give {column}"
            errors.append({"loc": ["body", "header", column], "msg": msg})
        columns.setdefault(column, index)
    missing = [c for c in COLUMNS if c not in columns]
    errors += [
        {"loc": ["body", "header", c], "msg": f"required column missing ({c} or {_CHINESE[c]})"}
        for c in missing
    ]
    if errors:
        detail = f"missing required column(s): {', '.join(missing)}" if missing else ""
        raise Unprocessable(detail or errors[0]["msg"], errors)
    return row_no, columns


def validate_row(
    row_no: int, values: dict[str, str], principal: Principal
) -> ValidRow | list[Issue]:
    """One row checked like `PUT /v1/enterprises/{uscc}`: every failing column reported."""
    issues = [Issue(row_no, column, NUL_MESSAGE) for column in nul_columns(values)]
    if issues:
        return issues
    uscc = ""
    if not values["uscc"]:
        issues.append(Issue(row_no, "uscc", "Field required"))
    else:
        try:
            uscc = validate_uscc(values["uscc"])
        except ValueError as exc:
            issues.append(Issue(row_no, "uscc", str(exc)))
    data = {k: v for k, v in values.items() if k != "uscc" and v != ""}
    try:
        body = EnterpriseIn.model_validate(data)
    except ValidationError as exc:
        for err in field_errors(exc):
            issues.append(Issue(row_no, str(err["loc"][0]) if err["loc"] else "", err["msg"]))
        return issues
    if not principal.covers(body.division_code):
        msg = f"division {body.division_code} is outside this credential's divisions"
        issues.append(Issue(row_no, "division_code", msg))
    if issues:
        return issues
    return ValidRow(row_no, uscc, body.name, body.division_code, body.industry_code, body.employees)


def validate_rows(rows: Iterable[tuple[int, dict[str, str]]], principal: Principal) -> ParsedFile:
    """Every row validated; of several rows with one USCC the last valid one wins and the
    earlier ones become warnings."""
    valid: dict[str, ValidRow] = {}
    issues: list[Issue] = []
    failed = total = 0
    for row_no, values in rows:
        total += 1
        if total > MAX_ROWS:
            raise Unprocessable(f"the file has more than {MAX_ROWS:,} rows; split it")
        result = validate_row(row_no, values, principal)
        if isinstance(result, list):
            issues += result
            failed += 1
            continue
        earlier = valid.pop(result.uscc, None)
        if earlier is not None:
            msg = f"USCC {result.uscc} appears again in row {row_no}; the later row wins"
            issues.append(Issue(earlier.row, "uscc", msg, "warning"))
        valid[result.uscc] = result  # re-inserted: the dict stays in order of last rows
    issues.sort(key=lambda i: i.row)
    return ParsedFile(total, list(valid.values()), issues, failed, total - failed - len(valid))


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: list[Issue] = field(default_factory=list)


_ENTERPRISES = table_of(Enterprise)
# A bulk UPDATE with bind parameters, alike in shape to delivery/store.py's: different tables.
_UPDATE = (
    update(_ENTERPRISES)
    .where(_ENTERPRISES.c.uscc == bindparam("k_uscc"))
    .values(
        name=bindparam("v_name"),
        division_code=bindparam("v_division_code"),
        industry_code=bindparam("v_industry_code"),
        employees=bindparam("v_employees"),
        updated_at=bindparam("v_updated_at"),
    )
)


async def apply_batch(
    session: AsyncSession, rows: Sequence[ValidRow], principal: Principal, source: str
) -> BatchResult:
    """Create or update a batch of enterprises in the caller's transaction: one SELECT, then
    one executemany each for new enterprises, changed ones and their outbox events."""
    t = _ENTERPRISES
    conn = await session.connection()
    query = select(t.c.uscc, t.c.name, t.c.division_code, t.c.industry_code, t.c.employees)
    found = await conn.execute(query.where(t.c.uscc.in_([r.uscc for r in rows])))
    existing = {r.uscc: (r.name, r.division_code, r.industry_code, r.employees) for r in found}
    now = clock.now()
    result = BatchResult()
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for row in rows:
        content = (row.name, row.division_code, row.industry_code, row.employees)
        before = existing.get(row.uscc)
        if before is not None and not principal.covers(before[1]):
            msg = (
                f"enterprise {row.uscc} is registered in division {before[1]}, "
                "outside this credential's divisions"
            )
            result.issues.append(Issue(row.row, "division_code", msg))
            continue
        if before == content:
            result.unchanged += 1
            continue
        # Alike in shape to incidents' FindingData and AlertData: each event, its own fields.
        data = EnterpriseData(
            uscc=row.uscc,
            name=row.name,
            division_code=row.division_code,
            industry_code=row.industry_code,
            employees=row.employees,
        ).to_json()
        if before is None:
            new.append({**data, "updated_at": now})
        else:
            changed.append({"k_uscc": row.uscc, "v_updated_at": now})
            changed[-1] |= {f"v_{k}": v for k, v in data.items() if k != "uscc"}
        name = "enterprise.registered" if before is None else "enterprise.updated"
        events.append(
            outbox_row(name, source=source, key=row.uscc, subject=row.uscc, data=data, now=now)
        )
    if new:
        await conn.execute(insert(t), new)
    if changed:
        await conn.execute(_UPDATE, changed)
    if events:
        await insert_staged(session, events)
    result.created, result.updated = len(new), len(changed)
    return result
