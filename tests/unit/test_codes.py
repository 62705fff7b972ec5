"""Code lists of docs/domain.md: divisions, industries, risk classes, diseases, accident grades."""

from __future__ import annotations

import pytest

from hub_shared.domain import divisions
from hub_shared.domain.codelists import (
    ACCIDENT_GRADE_NAMES_ZH,
    ACCIDENT_GRADES,
    DISEASE_CATEGORIES,
    PNEUMOCONIOSIS,
    disease_category,
    grade_for,
)
from hub_shared.domain.industries import (
    BASE_RATE_PERCENT,
    KEY_INDUSTRIES,
    RISK_CLASS_DIVISIONS,
    SECTIONS,
    key_industries_of,
    normalize_industry_code,
    risk_class_of,
    section_of,
)

# --- divisions ---


def test_division_table_has_the_city_and_eleven_counties() -> None:
    assert divisions.CITY == "370800"
    assert len(divisions.county_codes()) == 11
    assert divisions.CITY not in divisions.county_codes()
    assert divisions.name_of("370811") == "任城区"
    assert divisions.name_of(divisions.CITY) == "济宁市"


def test_alias_is_not_a_known_gb_code() -> None:
    assert divisions.is_known("370883")
    assert not divisions.is_known("370882")


@pytest.mark.parametrize(
    ("code", "gb_code"),
    [
        ("370802", "370811"),
        ("370882", "370812"),
        ("370890", "370811"),
        ("370891", "370811"),
        ("370892", "370800"),
        (" ３７０８８３ ", "370883"),
        ("370800", "370800"),
    ],
)
def test_default_aliases_map_legacy_and_zone_codes_to_gb_codes(code: str, gb_code: str) -> None:
    assert divisions.normalize_division(code) == gb_code


def test_source_alias_table_overrides_the_default() -> None:
    aliases = {"370892": "370829", "JN-GX": "370811"}
    assert divisions.normalize_division("370892", "approval", aliases) == "370829"
    assert divisions.normalize_division("jn-gx", "approval", aliases) == "370811"
    assert divisions.normalize_division("370802", "approval", aliases) == "370811"


def test_unknown_division_is_rejected_naming_the_source() -> None:
    with pytest.raises(ValueError, match="unknown division code '370102' from source 'hr'"):
        divisions.normalize_division("370102", "hr")


def test_alias_to_a_non_jining_code_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a Jining GB code"):
        divisions.normalize_division("370899", aliases={"370899": "370102"})


def test_city_scope_covers_every_county_and_itself() -> None:
    for code in (divisions.CITY, *divisions.county_codes()):
        assert divisions.covers(divisions.CITY, code)
    assert not divisions.covers(divisions.CITY, "370102")


def test_county_scope_covers_only_itself() -> None:
    assert divisions.covers("370811", "370811")
    assert not divisions.covers("370811", "370812")
    assert not divisions.covers("370811", divisions.CITY)


def test_covers_any_needs_one_covering_scope() -> None:
    assert divisions.covers_any(["370812", "370811"], "370811")
    assert not divisions.covers_any(["370812", "370883"], "370811")
    assert not divisions.covers_any([], "370811")


# --- industries ---


def test_sections_cover_divisions_01_to_97_without_gaps() -> None:
    numbers = [n for first, last in SECTIONS.values() for n in range(first, last + 1)]
    assert numbers == list(range(1, 98))
    assert section_of("97") == "T"
    assert section_of("91") == "S"


@pytest.mark.parametrize("raw", ["E47", "47", "4711", "E4711", " e４７ ", "e4711"])
def test_accepted_industry_code_forms_normalize_to_the_division(raw: str) -> None:
    assert normalize_industry_code(raw) == "47"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("C47", "section C does not match division 47"),
        ("471", "not of the form"),
        ("E", "not of the form"),
        ("E471100", "not of the form"),
        ("00", "unknown GB/T 4754-2017 division"),
        ("98", "unknown GB/T 4754-2017 division"),
        ("EE47", "not of the form"),
        ("", "not of the form"),
    ],
)
def test_bad_industry_codes_are_rejected(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalize_industry_code(raw)


def test_key_industries_are_the_nine_rows_in_domain_order() -> None:
    assert [row.key for row in KEY_INDUSTRIES] == [
        "hazardous_chemicals",
        "coal_mining",
        "mining",
        "metallurgy",
        "building_materials",
        "construction",
        "transport",
        "machinery",
        "pharmaceutical",
    ]
    jining = [row.key for row in KEY_INDUSTRIES if "jining" in row.lists]
    shandong = [row.key for row in KEY_INDUSTRIES if "shandong" in row.lists]
    assert len(jining) == 6
    assert len(shandong) == 7


def test_coal_mine_is_in_coal_mining_and_mining() -> None:
    assert key_industries_of("B06") == ("coal_mining", "mining")
    assert key_industries_of("0610") == ("coal_mining", "mining")
    assert key_industries_of("B08") == ("mining",)


@pytest.mark.parametrize(
    ("raw", "keys"),
    [
        ("C26", ("hazardous_chemicals",)),
        ("5942", ("hazardous_chemicals", "transport")),
        ("G5435", ("hazardous_chemicals", "transport")),
        ("5431", ("transport",)),
        ("G59", ("transport",)),
        ("E48", ("construction",)),
        ("C30", ("building_materials",)),
        ("C32", ("metallurgy",)),
        ("C35", ("machinery",)),
        ("C27", ("pharmaceutical",)),
        ("F52", ()),
    ],
)
def test_key_industry_membership(raw: str, keys: tuple[str, ...]) -> None:
    assert key_industries_of(raw) == keys


@pytest.mark.parametrize(
    ("division", "risk_class"),
    [
        ("65", 1),
        ("J66", 1),
        ("S96", 1),
        ("51", 2),
        ("G59", 2),
        ("C27", 4),
        ("G58", 5),
        ("E47", 6),
        ("C25", 7),
        ("B06", 8),
        ("T97", None),
        ("D46", None),
    ],
)
def test_risk_class_of_division(division: str, risk_class: int | None) -> None:
    assert risk_class_of(division) == risk_class


def test_risk_classes_do_not_overlap_and_have_base_rates() -> None:
    listed = [d for divisions_ in RISK_CLASS_DIVISIONS.values() for d in divisions_]
    assert len(listed) == len(set(listed))
    assert set(RISK_CLASS_DIVISIONS) <= set(BASE_RATE_PERCENT)
    assert BASE_RATE_PERCENT[1] == 0.2
    assert BASE_RATE_PERCENT[8] == 1.9


# --- occupational diseases and accidents ---


def test_ten_disease_categories_with_pneumoconiosis_first() -> None:
    assert sorted(DISEASE_CATEGORIES) == list(range(1, 11))
    assert disease_category(PNEUMOCONIOSIS).name_zh == "职业性尘肺病及其他呼吸系统疾病"
    with pytest.raises(ValueError, match="1-10"):
        disease_category(11)


def test_accident_grades_have_chinese_names() -> None:
    assert ACCIDENT_GRADES == ("general", "larger", "major", "extraordinary")
    assert ACCIDENT_GRADE_NAMES_ZH["extraordinary"] == "特别重大"


@pytest.mark.parametrize(
    ("deaths", "grade"),
    [
        (0, "general"),
        (2, "general"),
        (3, "larger"),
        (9, "larger"),
        (10, "major"),
        (29, "major"),
        (30, "extraordinary"),
    ],
)
def test_grade_by_deaths_boundaries(deaths: int, grade: str) -> None:
    assert grade_for(deaths, 0) == grade


@pytest.mark.parametrize(
    ("serious", "grade"),
    [
        (9, "general"),
        (10, "larger"),
        (49, "larger"),
        (50, "major"),
        (99, "major"),
        (100, "extraordinary"),
    ],
)
def test_grade_by_serious_injuries_boundaries(serious: int, grade: str) -> None:
    assert grade_for(0, serious) == grade


def test_grade_takes_the_more_severe_of_deaths_and_injuries() -> None:
    assert grade_for(2, 50) == "major"
    assert grade_for(30, 0) == "extraordinary"


def test_negative_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        grade_for(-1, 0)
