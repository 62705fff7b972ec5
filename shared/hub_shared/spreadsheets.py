"""Cells the hub writes from user data, made inert (CSV and formula injection).

A spreadsheet program runs a cell that starts with `=`, `+`, `-` or `@` as a formula (and
a tab or carriage return can hide the start): `=HYPERLINK(...)` in an enterprise name
would run on the desk of whoever opens the export. In CSV such a text gets a leading `'`
(OWASP's advice; the apostrophe shows). In XLSX the cell is stored as text with Excel's
quote prefix, which shows the text as it is and never evaluates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from openpyxl.workbook.workbook import Workbook

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutral(value: Any) -> Any:
    """A CSV field: text that could start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutral_row(row: Iterable[Any]) -> list[Any]:
    return [neutral(value) for value in row]


def neutral_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: neutral(value) for key, value in row.items()}


def neutralise_workbook(book: Workbook) -> None:
    """Every text cell of every sheet stays text: none is stored or read as a formula."""
    for sheet in book.worksheets:
        for line in sheet.iter_rows():
            for cell in line:
                if isinstance(cell.value, str) and (
                    cell.data_type == "f" or cell.value.startswith(FORMULA_STARTS)
                ):
                    cell.data_type = "s"
                    cell.quotePrefix = True
