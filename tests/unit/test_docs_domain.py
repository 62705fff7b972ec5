"""docs/domain.md holds to the code lists: divisions and their aliases, key industries,
risk classes, industry sections, disease categories, accident grades and the check
characters of the identifiers."""

from __future__ import annotations

from hub_shared.domain import codelists, divisions, identifiers, industries
from tests.support.docs import domain, rows_by_key, table_rows


def test_code_lists_in_domain_match_the_code() -> None:
    text = domain()
    for code, name in divisions.DIVISIONS.items():
        assert f"| {code} | {name}" in text, f"division {code}"
    aliases = rows_by_key(text) | {row[0]: row for row in table_rows(text)}
    for alias, target in divisions.DEFAULT_ALIASES.items():
        assert aliases[alias][-1] == target, f"alias {alias}"
    for row in industries.KEY_INDUSTRIES:
        assert f"| `{row.key}` | {row.name_zh} | {', '.join(row.lists)} |" in text, row.key
    for risk_class, rate in industries.BASE_RATE_PERCENT.items():
        assert f"| {risk_class} | {rate}% |" in text, f"risk class {risk_class}"
    for letter, (first, last) in industries.SECTIONS.items():
        span = f"{first:02d}" if first == last else f"{first:02d}–{last:02d}"
        assert f"| {letter} | {span} |" in text, f"section {letter}"
    for number, category in codelists.DISEASE_CATEGORIES.items():
        assert f"| {number} | {category.name_zh}" in text, f"disease category {number}"
    for grade, name_zh in codelists.ACCIDENT_GRADE_NAMES_ZH.items():
        assert f"`{grade}` {name_zh}" in text, grade


def test_check_characters_in_domain_match_the_code() -> None:
    text = domain()
    assert f"`{identifiers.USCC_ALPHABET}`" in text
    assert " ".join(map(str, identifiers._USCC_WEIGHTS)) in text
    assert " ".join(map(str, identifiers._ORG_WEIGHTS)) in text
    assert " ".join(map(str, identifiers._ID_WEIGHTS)) in text
    assert f'`"{identifiers._ID_CHECK}"`' in text
