"""Jining's administrative divisions (GB/T 2260) and the alias table for legacy codes."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from hub_shared.domain.invalid import InvalidValue

CITY: Final = "370800"

# GB/T 2260 codes of Jining: the city first, then its eleven counties.
DIVISIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "370800": "济宁市",
        "370811": "任城区",
        "370812": "兖州区",
        "370826": "微山县",
        "370827": "鱼台县",
        "370828": "金乡县",
        "370829": "嘉祥县",
        "370830": "汶上县",
        "370831": "泗水县",
        "370832": "梁山县",
        "370881": "曲阜市",
        "370883": "邹城市",
    }
)

# Codes that appear in source systems but are not (or no longer) GB codes, mapped to
# the GB code that now holds them. The three functional-zone codes are a local choice
# (docs/domain.md, "Divisions": zones default to the county administering them, else the city):
# 370890 高新区 and 370891 太白湖新区 -> 任城区; 370892 经开区 -> the city.
# A source system whose codes mean something else passes its own table (`aliases`).
DEFAULT_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "370802": "370811",  # 市中区, merged into 任城区 (2013)
        "370882": "370812",  # 兖州市, now 兖州区
        "370890": "370811",  # 高新区 (local choice)
        "370891": "370811",  # 太白湖新区 (local choice)
        "370892": "370800",  # 经开区 (local choice)
    }
)


def _clean(code: str) -> str:
    # Same rule as identifiers.normalize_code; kept here so that this code list does
    # not import identifiers (which imports it).
    return "".join(unicodedata.normalize("NFKC", code).split()).upper()


def is_known(code: str) -> bool:
    """True for a Jining GB/T 2260 code (the city or a county), not for an alias."""
    return _clean(code) in DIVISIONS


def name_of(code: str) -> str:
    """The Chinese name of a Jining GB/T 2260 code."""
    try:
        return DIVISIONS[_clean(code)]
    except KeyError:
        raise InvalidValue(f"unknown division code {code!r}") from None


def county_codes() -> tuple[str, ...]:
    """The eleven county-level codes, without the city."""
    return tuple(code for code in DIVISIONS if code != CITY)


def normalize_division(
    code: str, source: str | None = None, aliases: Mapping[str, str] | None = None
) -> str:
    """Map a division code to a Jining GB code via `aliases` over `DEFAULT_ALIASES`.

    GB codes pass through unchanged; `source` only names the source system in errors.
    """
    cleaned = _clean(code)
    if cleaned in DIVISIONS:
        return cleaned
    table = dict(DEFAULT_ALIASES)
    if aliases:
        table.update({_clean(key): _clean(value) for key, value in aliases.items()})
    target = table.get(cleaned)
    if target is None:
        origin = f" from source {source!r}" if source else ""
        raise InvalidValue(
            f"unknown division code {code!r}{origin}: not a Jining GB/T 2260 code or alias"
        )
    if target not in DIVISIONS:
        raise InvalidValue(f"division alias {cleaned!r} maps to {target!r}, not a Jining GB code")
    return target


def covers(scope: str, division: str) -> bool:
    """True when an office of `scope` may see records of `division` (both GB codes)."""
    scope, division = _clean(scope), _clean(division)
    if division not in DIVISIONS:
        return False
    return scope in (CITY, division)


def covers_any(scopes: Iterable[str], division: str) -> bool:
    """True when any of `scopes` covers `division`."""
    return any(covers(scope, division) for scope in scopes)
