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


def header_key(cell: object) -> str:
    """A header cell compared after NFKC, case folding and dropping spaces and a `*`."""
    return "".join(unicodedata.normalize("NFKC", cell_text(cell)).split()).lower().strip("*")
