"""Identifiers (docs/domain.md, "Identifiers"): normalisation, check characters, pydantic types.

Errors about resident ID numbers never echo the number (personal data). Pydantic puts
the input into its errors; models holding `ResidentIdNumber` should set
`hide_input_in_errors=True`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Final

from pydantic import AfterValidator, WithJsonSchema

from hub_shared import clock
from hub_shared.domain import divisions, industries
from hub_shared.domain.invalid import InvalidValue

# GB 32100-2015: 31 symbols (no I, O, S, V, Z); a symbol's value is its index.
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
# GB 11714 organisation code (positions 9-17 of a USCC).
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
# GB 11643-1999 resident ID number.
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"
_ID_FORM: Final = re.compile(r"[0-9]{17}[0-9X]")

_PERMIT_FORM: Final = re.compile(r"[0-9A-Za-z-]{10,40}")
_PERMIT_HEAD: Final = re.compile(r"(?P<division>[0-9]{6})(?P<date>[0-9]{8})")
_PROJECT_FORM: Final = re.compile(
    r"(?P<yy>[0-9]{2})(?P<mm>[0-9]{2})-(?P<division>[0-9]{6})-[0-9]{2}-[0-9]{2}-[0-9]{6}"
)


def normalize_code(raw: str) -> str:
    """Strip all whitespace, full-width to half-width (NFKC), upper-case."""
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


def _parse_yyyymmdd(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


# --- unified social credit code (GB 32100-2015) ---


def _uscc_bad_char(code: str) -> str | None:
    for position, char in enumerate(code, start=1):
        if char not in USCC_ALPHABET:
            return (
                f"USCC character {char!r} at position {position} is not allowed "
                f"(alphabet {USCC_ALPHABET}; no I, O, S, V, Z)"
            )
    return None


def _uscc_characters(raw: str, length: int, what: str) -> str:
    """`raw` normalised, of `length` characters from the USCC alphabet, or InvalidValue."""
    code = normalize_code(raw)
    if len(code) != length:
        raise InvalidValue(f"{what} must be {length} characters, got {len(code)}")
    if problem := _uscc_bad_char(code):
        raise InvalidValue(problem)
    return code


def uscc_check_char(first17: str) -> str:
    """The check character (position 18) of the first 17 characters of a USCC."""
    body = _uscc_characters(first17, 17, "USCC body")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(raw: str) -> str:
    """The normalised USCC; ValueError for wrong length, character or check character."""
    code = _uscc_characters(raw, 18, "USCC")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidValue(f"USCC check character is {code[17]!r}, expected {expected!r}")
    return code


def uscc_org_code_warning(uscc: str) -> str | None:
    """A warning when positions 9-17 fail the GB 11714 organisation-code check, else None."""
    code = normalize_code(uscc)
    if len(code) != 18:
        raise InvalidValue(f"USCC must be 18 characters, got {len(code)}")
    org = code[8:17]
    # GB 11714 values: digits 0-9, letters A=10 ... Z=35.
    values = [int(c) if c in "0123456789" else ord(c) - ord("A") + 10 for c in org[:8]]
    remainder = 11 - sum(v * w for v, w in zip(values, _ORG_WEIGHTS, strict=True)) % 11
    expected = {10: "X", 11: "0"}.get(remainder, str(remainder))
    if org[8] == expected:
        return None
    return (
        f"organisation code {org[:8]}-{org[8]} (USCC positions 9-17) fails the GB 11714 "
        f"check: expected {expected!r}"
    )


# --- resident ID number (GB 11643-1999) ---


def validate_resident_id(raw: str, *, today: date | None = None) -> str:
    """The normalised ID number; ValueError for wrong form, birth date or check character."""
    id_number = normalize_code(raw)
    if len(id_number) != 18:
        raise InvalidValue(f"resident ID number must be 18 characters, got {len(id_number)}")
    if not _ID_FORM.fullmatch(id_number):
        raise InvalidValue("resident ID number must be 17 digits followed by a digit or X")
    birth = _parse_yyyymmdd(id_number[6:14])
    if birth is None:
        raise InvalidValue("resident ID number has an impossible birth date")
    if birth > (today or clock.today()):
        raise InvalidValue("resident ID number has a birth date in the future")
    total = sum(int(c) * w for c, w in zip(id_number[:17], _ID_WEIGHTS, strict=True))
    if id_number[17] != _ID_CHECK[total % 11]:
        raise InvalidValue("resident ID number check character does not match")
    return id_number


def mask_resident_id(id_number: str) -> str:
    """First 6 and last 4 characters kept, 8 '*' between: 370811********1236."""
    normalized = normalize_code(id_number)
    if len(normalized) != 18:
        raise InvalidValue("only an 18-character resident ID number can be masked")
    return f"{normalized[:6]}{'*' * 8}{normalized[-4:]}"


def resident_id_digest(id_number: str, key: bytes) -> str:
    """Hex HMAC-SHA256 of the normalised ID number, for matching without storing it."""
    if not key:
        raise InvalidValue("resident ID digest key must not be empty")
    message = normalize_code(id_number).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --- construction permit number and investment project code ---


def validate_permit_no(raw: str, *, aliases: Mapping[str, str] | None = None) -> str:
    """The permit number as given (whitespace stripped, full-width to half-width).

    10-40 characters of [0-9A-Za-z-]; when it starts with 14 digits (the 18-digit
    form, or a longer number built on it), they must be a Jining division code or
    alias and a real date YYYYMMDD.
    """
    permit_no = "".join(unicodedata.normalize("NFKC", raw).split())
    if not _PERMIT_FORM.fullmatch(permit_no):
        raise InvalidValue("permit number must be 10-40 characters of 0-9, A-Z, a-z and '-'")
    head = _PERMIT_HEAD.match(permit_no)
    if head is not None:
        try:
            divisions.normalize_division(head["division"], aliases=aliases)
        except ValueError:
            raise InvalidValue(
                f"permit number starts with {head['division']!r}, not a Jining division code"
            ) from None
        if _parse_yyyymmdd(head["date"]) is None:
            raise InvalidValue(
                f"permit number digits 7-14 {head['date']!r} are not a date YYYYMMDD"
            )
    return permit_no


def validate_project_code(raw: str) -> str:
    """The normalised investment project code YYMM-DDDDDD-NN-NN-NNNNNN."""
    code = normalize_code(raw)
    match = _PROJECT_FORM.fullmatch(code)
    if match is None:
        raise InvalidValue("project code must have the form YYMM-DDDDDD-NN-NN-NNNNNN")
    if not 1 <= int(match["mm"]) <= 12:
        raise InvalidValue(f"project code month {match['mm']!r} is not 01-12")
    # Any 3708xx: the city and counties plus the local codes of functional zones.
    if not match["division"].startswith(divisions.CITY[:4]):
        raise InvalidValue(f"project code division {match['division']!r} is not in Jining")
    return code


# --- pydantic types ---


def _resident_id(raw: str) -> str:
    return validate_resident_id(raw)


def _permit_no(raw: str) -> str:
    return validate_permit_no(raw)


def _division_code(raw: str) -> str:
    return divisions.normalize_division(raw)


def named_form(form: str) -> WithJsonSchema:
    """The identifier's form in OpenAPI and AsyncAPI (`format`, a name this module defines),
    so that a client, or a generator of test data, knows which rules a string must pass."""
    return WithJsonSchema({"type": "string", "format": form})


Uscc = Annotated[str, AfterValidator(validate_uscc), named_form("uscc")]
ResidentIdNumber = Annotated[str, AfterValidator(_resident_id), named_form("resident-id")]
PermitNo = Annotated[str, AfterValidator(_permit_no), named_form("permit-no")]
ProjectCode = Annotated[str, AfterValidator(validate_project_code), named_form("project-code")]
DivisionCode = Annotated[str, AfterValidator(_division_code), named_form("division-code")]
IndustryCode = Annotated[
    str, AfterValidator(industries.normalize_industry_code), named_form("industry-code")
]
