"""Occupational-disease categories (职业病分类和目录, 2013) and accident grades."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from hub_shared.domain.invalid import InvalidValue


@dataclass(frozen=True)
class DiseaseCategory:
    """One of the ten categories of the occupational-disease catalogue."""

    number: int
    name_zh: str
    name_en: str


DISEASE_CATEGORIES: Final[Mapping[int, DiseaseCategory]] = MappingProxyType(
    {
        category.number: category
        for category in (
            DiseaseCategory(
                1,
                "职业性尘肺病及其他呼吸系统疾病",
                "pneumoconiosis and other respiratory diseases",
            ),
            DiseaseCategory(2, "职业性皮肤病", "skin diseases"),
            DiseaseCategory(3, "职业性眼病", "eye diseases"),
            DiseaseCategory(4, "职业性耳鼻喉口腔疾病", "ear, nose, throat and oral diseases"),
            DiseaseCategory(5, "职业性化学中毒", "chemical poisoning"),
            DiseaseCategory(6, "物理因素所致职业病", "diseases caused by physical factors"),
            DiseaseCategory(7, "职业性放射性疾病", "radiation diseases"),
            DiseaseCategory(8, "职业性传染病", "infectious diseases"),
            DiseaseCategory(9, "职业性肿瘤", "occupational cancers"),
            DiseaseCategory(10, "其他职业病", "other occupational diseases"),
        )
    }
)

# The plan's 2021 campaign theme (尘肺病).
PNEUMOCONIOSIS: Final = 1


def disease_category(number: int) -> DiseaseCategory:
    """The category numbered 1-10."""
    try:
        return DISEASE_CATEGORIES[number]
    except KeyError:
        raise InvalidValue(f"occupational-disease category must be 1-10, got {number!r}") from None


AccidentGrade = Literal["general", "larger", "major", "extraordinary"]

# Least to most severe (生产安全事故报告和调查处理条例).
ACCIDENT_GRADES: Final[tuple[AccidentGrade, ...]] = ("general", "larger", "major", "extraordinary")

ACCIDENT_GRADE_NAMES_ZH: Final[Mapping[AccidentGrade, str]] = MappingProxyType(
    {"general": "一般", "larger": "较大", "major": "重大", "extraordinary": "特别重大"}
)

# (grade, minimum deaths, minimum serious injuries), most severe first. Direct economic
# loss also grades an accident nationally; it is not recorded by the hub.
_GRADE_THRESHOLDS: Final[tuple[tuple[AccidentGrade, int, int], ...]] = (
    ("extraordinary", 30, 100),
    ("major", 10, 50),
    ("larger", 3, 10),
)


def grade_for(deaths: int, serious_injuries: int) -> AccidentGrade:
    """The national grade implied by the deaths and serious injuries of one accident."""
    if deaths < 0 or serious_injuries < 0:
        raise InvalidValue("deaths and serious injuries must not be negative")
    for grade, min_deaths, min_serious in _GRADE_THRESHOLDS:
        if deaths >= min_deaths or serious_injuries >= min_serious:
            return grade
    return "general"
