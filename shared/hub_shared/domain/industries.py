"""GB/T 4754-2017 industry codes, the plan's key industries and the insurance risk classes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Final

from hub_shared.domain.invalid import InvalidValue

# Section letter -> first and last 2-digit division (GB/T 4754-2017). The standard ends
# with S 91-96 (public administration and social organisations) and T 97 (international
# organisations).
SECTIONS: Final[Mapping[str, tuple[int, int]]] = MappingProxyType(
    {
        "A": (1, 5),
        "B": (6, 12),
        "C": (13, 43),
        "D": (44, 46),
        "E": (47, 50),
        "F": (51, 52),
        "G": (53, 60),
        "H": (61, 62),
        "I": (63, 65),
        "J": (66, 69),
        "K": (70, 70),
        "L": (71, 72),
        "M": (73, 75),
        "N": (76, 79),
        "O": (80, 82),
        "P": (83, 83),
        "Q": (84, 85),
        "R": (86, 90),
        "S": (91, 96),
        "T": (97, 97),
    }
)

# "E47", "47", "4711" or "E4711" (3-digit groups are not accepted).
_CODE = re.compile(r"(?P<section>[A-Z]?)(?P<division>[0-9]{2})(?P<rest>[0-9]{2})?")


def _clean(raw: str) -> str:
    # Same rule as identifiers.normalize_code; kept here so that this code list does
    # not import identifiers (which imports it).
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


def _span(first: int, last: int) -> frozenset[str]:
    return frozenset(f"{number:02d}" for number in range(first, last + 1))


def section_of(division: str) -> str:
    """The section letter of a 2-digit division."""
    if len(division) == 2 and division.isascii() and division.isdigit():
        number = int(division)
        for letter, (first, last) in SECTIONS.items():
            if first <= number <= last:
                return letter
    raise InvalidValue(f"unknown GB/T 4754-2017 division {division!r}")


def _parse(raw: str) -> tuple[str, str | None]:
    """(division, 4-digit class or None) of an industry code; raises ValueError."""
    code = _clean(raw)
    match = _CODE.fullmatch(code)
    if match is None:
        raise InvalidValue(
            f"industry code {raw!r} is not of the form 'E47', '47', '4711' or 'E4711'"
        )
    division = match["division"]
    section = section_of(division)
    if match["section"] and match["section"] != section:
        raise InvalidValue(
            f"industry code {raw!r}: section {match['section']} does not match "
            f"division {division} (section {section})"
        )
    rest = match["rest"]
    return division, (division + rest if rest else None)


@lru_cache(maxsize=1024)  # a registry repeats a few dozen codes over many rows
def normalize_industry_code(raw: str) -> str:
    """The 2-digit GB/T 4754-2017 division of "E47", "47", "4711" or "E4711"."""
    return _parse(raw)[0]


@dataclass(frozen=True)
class KeyIndustry:
    """One row of the plan's key-industry table (docs/domain.md, "Key industries")."""

    key: str
    name_zh: str
    lists: tuple[str, ...]
    divisions: frozenset[str]
    classes: frozenset[str] = frozenset()


JINING: Final = "jining"
SHANDONG: Final = "shandong"

# The nine rows in the order of docs/domain.md, "Key industries" (Jining's six and
# Shandong's seven, united).
KEY_INDUSTRIES: Final[tuple[KeyIndustry, ...]] = (
    KeyIndustry(
        "hazardous_chemicals",
        "危险化学品",
        (JINING, SHANDONG),
        frozenset({"25", "26"}),
        # hazardous-goods road transport and storage classes
        frozenset({"5435", "5941", "5942", "5949"}),
    ),
    KeyIndustry("coal_mining", "煤矿", (JINING,), frozenset({"06"})),
    KeyIndustry("mining", "矿山", (SHANDONG,), _span(6, 12)),
    KeyIndustry("metallurgy", "冶金", (SHANDONG,), frozenset({"31", "32"})),
    KeyIndustry("building_materials", "建材", (SHANDONG,), frozenset({"30"})),
    KeyIndustry("construction", "建筑施工", (JINING, SHANDONG), _span(47, 50)),
    KeyIndustry("transport", "交通运输", (JINING, SHANDONG), _span(53, 60)),
    KeyIndustry("machinery", "机械制造", (JINING, SHANDONG), _span(33, 38)),
    KeyIndustry("pharmaceutical", "医药制造", (JINING,), frozenset({"27"})),
)

KEY_INDUSTRIES_BY_KEY: Final[Mapping[str, KeyIndustry]] = MappingProxyType(
    {row.key: row for row in KEY_INDUSTRIES}
)


def key_industries_of(raw_industry_code: str) -> tuple[str, ...]:
    """Keys of every key-industry row an industry code belongs to, in table order."""
    division, class_code = _parse(raw_industry_code)
    return tuple(
        row.key
        for row in KEY_INDUSTRIES
        if division in row.divisions or (class_code is not None and class_code in row.classes)
    )


# Work-injury insurance risk classes (人社部发〔2015〕71号), as listed in docs/domain.md,
# "Risk classes and base rates".
# Local choices: class 1 "software" = I63-65, "finance" = J66-69, "public bodies" =
# section S (91-96); class 2 "wholesale and retail" = F51-52. Class 3 and the divisions
# not listed here have no class in this table (risk_class_of answers None).
RISK_CLASS_DIVISIONS: Final[Mapping[int, frozenset[str]]] = MappingProxyType(
    {
        1: _span(63, 69) | _span(91, 96),
        2: frozenset({"51", "52", "59", "60"}),
        4: _span(27, 29) | _span(33, 38) | frozenset({"42", "43", "44", "45", "53", "56", "57"}),
        5: frozenset({"11", "21", "22", "49", "50", "54", "55", "58"}),
        6: frozenset({"26", "30", "31", "32", "47", "48"}),
        7: frozenset({"07", "12", "25"}),
        8: frozenset({"06", "08", "09", "10"}),
    }
)

BASE_RATE_PERCENT: Final[Mapping[int, float]] = MappingProxyType(
    {1: 0.2, 2: 0.4, 3: 0.7, 4: 0.9, 5: 1.1, 6: 1.3, 7: 1.6, 8: 1.9}
)


def risk_class_of(division: str) -> int | None:
    """The risk class (1-8) of an industry code's division, None when not listed."""
    normalized = normalize_industry_code(division)
    for risk_class, divisions in RISK_CLASS_DIVISIONS.items():
        if normalized in divisions:
            return risk_class
    return None
