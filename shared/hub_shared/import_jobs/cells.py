"""A spreadsheet's cells as text and its header cells as keys, alike for every import."""

from __future__ import annotations

import unicodedata


def cell_text(value: object) -> str:
    """A cell as text; whole numbers from spreadsheets lose their ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def nul_columns(values: dict[str, str]) -> list[str]:
    """Columns whose text holds NUL (U+0000), which no database text can store: each a row
    error of the import, like any other bad cell."""
    return [column for column, text in values.items() if "\x00" in text]


def header_key(cell: object) -> str:
    """A header cell compared after NFKC, case folding and dropping spaces and a `*`."""
    return "".join(unicodedata.normalize("NFKC", cell_text(cell)).split()).lower().strip("*")
