"""Hypothesis strategies for valid identifiers, one per `format` that hub_shared.domain.identifiers
names in the OpenAPI documents: with them a generator reaches past validation."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from hub_shared.domain.divisions import CITY, county_codes
from hub_shared.domain.identifiers import USCC_ALPHABET, uscc_check_char

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

divisions = st.sampled_from((CITY, *county_codes()))
counties = st.sampled_from(county_codes())
_days = st.dates(min_value=date(2019, 1, 1), max_value=date(2025, 12, 31))


@st.composite
def usccs(draw: st.DrawFn) -> str:
    body = "91" + draw(counties) + draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    return body + uscc_check_char(body)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    born = draw(st.dates(min_value=date(1960, 1, 1), max_value=date(2004, 12, 31)))
    body = f"{draw(counties)}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


@st.composite
def permit_nos(draw: st.DrawFn) -> str:
    return f"{draw(counties)}{draw(_days):%Y%m%d}{draw(st.integers(0, 10**8 - 1)):08d}"


@st.composite
def project_codes(draw: st.DrawFn) -> str:
    day = draw(_days)
    digits = draw(st.integers(0, 10**10 - 1))
    tail = f"{digits:010d}"
    return f"{day:%y%m}-{draw(counties)}-{tail[:2]}-{tail[2:4]}-{tail[4:]}"


# Classes of the key industries (docs/domain.md) and of others.
industry_codes = st.sampled_from(("C2614", "B0610", "E4720", "G5430", "C2710", "C3311", "I6510"))

FORMATS = {
    "uscc": usccs(),
    "resident-id": resident_ids(),
    "permit-no": permit_nos(),
    "project-code": project_codes(),
    "division-code": divisions,
    "industry-code": industry_codes,
}
