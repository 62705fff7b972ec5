"""Normalising Chinese project and enterprise names for matching when identifiers are missing.

`name_key` is the stored equality key. Its output must not change for names it already folded
(keys are in the database); folding traditional characters changed it only for names that hold
them, whose keys could never equal a simplified permit's before.
The word lists below feed the scorer in `name_match`; they are domain vocabulary, kept as data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Final

from opencc import OpenCC
from rapidfuzz.distance import OSA

from hub_shared.domain.divisions import CITY, DIVISIONS

_REGION_PREFIXES = ("山东省", "山东", "济宁市", "济宁")
_LEGAL_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
_NOISE = re.compile(r"[\s()（）\[\]【】〔〕《》<>「」'\"“”‘’,，.。、:：;；\-—_·•/\\]")


@cache
def _to_simplified() -> OpenCC:
    """OpenCC's traditional-to-simplified converter (its dictionaries ship in the wheel)."""
    return OpenCC("t2s.json")


def fold(name: str) -> str:
    """Full-width to half-width letters and digits (NFKC), traditional characters to simplified
    (花園3號樓 -> 花园3号楼), lower case; punctuation is kept."""
    simplified: str = _to_simplified().convert(unicodedata.normalize("NFKC", name))
    return simplified.lower()


def drop_noise(text: str) -> str:
    """Without spaces, brackets and punctuation."""
    return _NOISE.sub("", text)


def name_key(name: str) -> str:
    """A comparison key: full-width folded, punctuation and brackets dropped, region prefixes
    and legal-form suffixes removed."""
    text = drop_noise(fold(name))
    changed = text.startswith(_REGION_PREFIXES) or text.endswith(_LEGAL_SUFFIXES)
    while changed:  # (most names have neither: no need to try each word in turn)
        changed = False
        for prefix in _REGION_PREFIXES:
            if text.startswith(prefix) and len(text) > len(prefix):
                text, changed = text[len(prefix) :], True
        for suffix in _LEGAL_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)], True
    return text


def _county_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for code, full in DIVISIONS.items():
        if code != CITY:
            names[full] = full
            names[full[:-1]] = full  # 任城区 -> 任城, 曲阜市 -> 曲阜
    return names


# Region words that may open a name (or stand in brackets after a trade name), mapped to the
# county they name, or "" for the province, the city and the functional zones.
REGIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "山东省": "",
        "山东": "",
        "济宁市": "",
        "济宁": "",
        "高新区": "",
        "太白湖新区": "",
        "经开区": "",
        "经济技术开发区": "",
        **_county_names(),
    }
)

LEGAL_FORMS: Final = ("股份有限公司", "有限责任公司", "股份公司", "有限公司", "集团", "公司")
PROJECT_SUFFIXES: Final = ("建设项目", "建设工程", "新建项目", "新建工程", "项目", "工程")

# Numbered designators: a numeral followed by one of these units; the value is the unit's
# class, so 3#楼, 3号楼, 3栋 and 三号楼 are all building 3.
DESIGNATOR_UNITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        **dict.fromkeys(("号楼", "#楼", "#", "栋", "幢", "座", "楼"), "栋"),
        "期": "期",
        **dict.fromkeys(("标段", "标"), "标段"),
        **dict.fromkeys(("号地块", "地块"), "地块"),
        "号院": "号院",
        "号": "号",
        **dict.fromkeys(("单元", "区", "批", "层", "街坊"), ""),
        **dict.fromkeys(("中学", "中"), "中学"),
        **dict.fromkeys(("小学", "小"), "小学"),
        **dict.fromkeys(("航局", "局"), "局"),
        **dict.fromkeys(("处", "队", "建", "院", "厂", "矿", "医院", "人民医院"), ""),
    }
)
CHINESE_NUMERALS: Final = "〇零一二三四五六七八九十百两"

# What a project is; two names naming different kinds of project are different projects.
# A building type is its own kind (a school's 教学楼 is not its 综合楼).
PROJECT_KINDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        **dict.fromkeys(("住宅小区", "住宅", "小区", "花园", "家园", "公寓"), "住宅"),
        **dict.fromkeys(("商品房", "别墅", "住宅楼"), "住宅"),
        **dict.fromkeys(("安置房", "安置小区", "回迁房", "回迁安置"), "安置"),
        **dict.fromkeys(("棚户区改造", "棚改", "旧城改造", "城中村改造"), "棚改"),
        "老旧小区改造": "老旧小区改造",
        **dict.fromkeys(("商业综合体", "综合体", "商业广场", "购物中心", "商场"), "商业"),
        **dict.fromkeys(("商务中心", "写字楼", "商业街", "商住楼", "酒店"), "商业"),
        **dict.fromkeys(("道路改造", "道路拓宽改造", "道路工程", "道路", "桥梁"), "道路"),
        **dict.fromkeys(("雨污分流改造", "雨污分流", "污水管网", "排水管网"), "排水"),
        **dict.fromkeys(("供热管网改造", "供热管网", "供热"), "供热"),
        **dict.fromkeys(("绿化提升", "绿化", "景观"), "绿化"),
        **dict.fromkeys(("提升改造", "外立面改造", "立面改造", "亮化"), "提升改造"),
        **dict.fromkeys(("燃气管网改造", "燃气管网"), "燃气"),
        **dict.fromkeys(("厂房", "生产车间", "车间"), "厂房"),
        **dict.fromkeys(("仓库", "仓储", "物流园"), "仓储"),
        **{w: w for w in ("教学楼", "综合楼", "宿舍楼", "实验楼", "体育馆", "食堂", "图书馆")},
        **{w: w for w in ("门诊楼", "病房楼", "住院楼", "医技楼", "发热门诊", "研发楼", "办公楼")},
        **{w: w for w in ("中学", "小学", "实验小学", "实验中学", "幼儿园", "职业学校")},
        **{w: w for w in ("人民医院", "中医院", "妇幼保健院", "卫生院", "医院")},
    }
)
# Words that say what kind of place or work something is, not which one it is: a difference
# inside them is a typo or a kind (vetoed above), never a different trade or estate name.
PROJECT_COMMON_WORDS: Final = (
    *PROJECT_KINDS,
    *("路", "街", "大道", "街道", "镇", "乡", "村", "社区", "片区", "开发区", "园区"),
    *("改造", "提升", "拓宽", "新建", "扩建", "建设", "项目", "工程", "实验"),
    *("华府", "名苑", "华庭", "公馆", "名邸", "雅苑", "府邸", "新城", "花苑"),  # estate endings
)
# The industry a company name states (行业表述); sibling companies differ exactly here.
INDUSTRY_WORDS: Final = (
    *("建设", "建工", "建筑", "建筑工程", "建筑安装", "建筑安装工程", "建安", "建设工程"),
    *("建设发展", "工程", "路桥", "路桥工程", "市政", "市政工程", "公路工程", "交通工程"),
    *("房地产开发", "房地产", "置业", "地产", "城建", "城市建设", "装饰", "装饰工程"),
    *("建筑装饰", "装饰装修", "园林", "园林绿化", "园林工程", "环境工程", "环保", "机械"),
    *("机电", "机械制造", "重工", "机床", "化工", "化学", "精细化工", "新材料", "煤业"),
    *("矿业", "能源", "煤炭", "物流", "运输", "交通运输", "货运", "劳务", "建材", "钢结构"),
    *("安装", "设备安装", "电力", "电力工程", "水利", "水利工程", "医药", "制药", "药业"),
    *("生物", "科技", "实业", "投资", "发展", "纺织", "食品", "煤化工"),
)


@dataclass(frozen=True)
class ParsedName:
    """A name as the scorer sees it."""

    text: str  # what is compared: no designators, regions, suffixes or punctuation
    common: tuple[bool, ...]  # per character of text: inside a common word (小区, 建设)
    numbers: tuple[tuple[str, int], ...]  # (unit class, value), sorted
    loose: tuple[int, ...]  # numerals left in the text
    marks: tuple[str, ...]  # letters (a区, b座) and road directions (红星东路: 东路)
    county: str | None
    kinds: frozenset[str]  # project kinds, or the stated industry of a company
    stem: str  # an enterprise's text without its industry (its trade name)
    branch: str | None = None


# 中 and 小 only as 一中, 二小 (never 中心, 小区); longer units first so 号楼 wins over 号
_GUARD = {"中": "(?!心)", "小": "(?!区)"}
_UNITS = "|".join(
    re.escape(u) + _GUARD.get(u, "") for u in sorted(DESIGNATOR_UNITS, key=len, reverse=True)
)
_DESIGNATOR = re.compile(rf"(第\s*)?(\d+|[{CHINESE_NUMERALS}]+)\s*({_UNITS})?")
_KEEP_UNIT = frozenset(u for u, c in DESIGNATOR_UNITS.items() if c in ("中学", "小学", "局", ""))
_KEEP_UNIT -= {"单元", "区", "批", "层", "街坊"}
_REGION_WORDS = sorted(REGIONS, key=len, reverse=True)
_BRACKETED = re.compile(r"[(（]([^()（）]*)[)）]")
_LETTERS = re.compile(r"[a-z]+")
_DIRECTION = re.compile(r"[东西南北中](?=路(?!桥)|街|大道|大街)")
_BRANCH = re.compile(r"^(.*(?:公司|集团))(.+?)分公司$")
_INDUSTRIES = sorted(INDUSTRY_WORDS, key=len, reverse=True)
KIND_WORDS = sorted(PROJECT_KINDS, key=len, reverse=True)
_PROJECT_COMMON = sorted(set(PROJECT_COMMON_WORDS) | set(INDUSTRY_WORDS), key=len, reverse=True)
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}


def _numeral(text: str) -> int:
    if text.isdigit():
        return int(text)
    total = current = 0
    for c in text:
        if c in _DIGITS:
            current = current * 10 + _DIGITS[c] if c in "〇零" and current else _DIGITS[c]
        else:  # 十 or 百
            total, current = total + (current or 1) * (10 if c == "十" else 100), 0
    return total + current


def _designators(text: str) -> tuple[str, list[tuple[str, int]], list[int]]:
    """The text without its numbered designators, the designators read out, and the values of
    numerals left in the text (九龙路, or 中冶九君 for a mistyped 中冶九局)."""
    numbers: list[tuple[str, int]] = []
    loose: list[int] = []

    def read(m: re.Match[str]) -> str:
        first, digits, unit = m.group(1), m.group(2), m.group(3) or ""
        if not digits.isdigit() and not first and not unit:
            loose.append(_numeral(digits))
            return m.group(0)  # a place name, not a number
        numbers.append((DESIGNATOR_UNITS.get(unit, unit), _numeral(digits)))
        return unit if unit in _KEEP_UNIT else " "

    return _DESIGNATOR.sub(read, text), numbers, loose


def _strip_regions(text: str) -> tuple[str, str | None]:
    """The text without region words (leading, or in brackets), and the county they name."""
    county: str | None = None
    for inner in _BRACKETED.findall(text):  # 鲁班（济宁）建设: a region after the trade name
        rest, named = _drop_leading_regions(drop_noise(inner), keep=0)
        if not rest and drop_noise(inner):
            text, county = text.replace(inner, "", 1), named or county
    rest, named = _drop_leading_regions(drop_noise(text), keep=1)
    return rest, named or county


def _drop_leading_regions(text: str, keep: int) -> tuple[str, str | None]:
    """Province, city, then county words; nothing regional follows a county."""
    county: str | None = None
    while not county and (match := _region_prefix(text)) and len(text) - match[0] >= keep:
        county = match[1] or county
        text = text[match[0] :]
    return text, county


def _region_prefix(text: str) -> tuple[int, str] | None:
    """How long the region word opening text is, and the county it names ("" for none).
    One typo is allowed in a word of three characters (济市, 祥嘉县, 金业县), a swap in two
    (乡金), a stray character of 山东省济宁市 before one (宁梁山); a typo that could be two
    counties (山县) names none."""
    for word in _REGION_WORDS:
        if text.startswith(word) and not _opens_industry(text, len(word)):
            return len(word), REGIONS[word]
    found: list[tuple[int, str]] = []
    for word in _REGION_WORDS:
        if len(word) == 2 and text[:2] == word[::-1]:
            found.append((2, REGIONS[word]))
        for k in (1, 2):  # a mangled region word before a whole one: 程宁汶上, 宁梁山
            if text.startswith(word, k) and any(
                OSA.distance(text[:k], r) <= 1 for r in _REGION_WORDS if len(r) in (k, k + 1)
            ):
                found.append((k + len(word), REGIONS[word]))
        for n in (len(word) - 1, len(word), len(word) + 1) if len(word) >= 3 else ():
            head = text[:n]
            typo = OSA.distance(head, word) == 1 and not _opens_industry(text, n)
            if typo and (head[-1:] == word[-1] or sorted(head) == sorted(word)):
                found.append((n, REGIONS[word]))
    if not found:
        return None
    longest = max(n for n, _ in found)
    counties = {c for n, c in found if n == longest and c}
    return longest, counties.pop() if len(counties) == 1 else ""


def _opens_industry(text: str, n: int) -> bool:
    """The region word's 市 (县, 区) begins an industry: 邹城|市政, not 邹城市|政."""
    return text[n - 1 : n] in "省市县区" and any(text.startswith(w, n - 1) for w in _INDUSTRIES)


def _strip_suffixes(text: str, suffixes: tuple[str, ...]) -> str:
    """Without trailing suffixes, longest first. One typo is allowed in a suffix of four or more
    characters (有限任公司, 建设项), a swap in one of two (目项, 团集)."""
    changed = True
    while changed:
        changed = False
        for suffix in suffixes:
            n = _suffix_length(text, suffix)
            if n and len(text) > n:
                text, changed = text[:-n], True
                break
    return text


def _suffix_length(text: str, suffix: str) -> int:
    if text.endswith(suffix) or (len(suffix) == 2 and text.endswith(suffix[::-1])):
        return len(suffix)
    if len(suffix) >= 4:  # a missing, substituted or swapped character
        for n in (len(suffix), len(suffix) - 1):
            if OSA.distance(text[-n:], suffix) == 1:
                return n
    return 0


def _industry(text: str) -> tuple[str, str | None]:
    """The text and the industry ending it. After the industry only a legal form can follow,
    so one or two characters left there (集, 集御) are a mistyped 集团 or 公司 and go."""
    for tail in (0, 1, 2):
        stem, rest = text[: len(text) - tail], text[len(text) - tail :]
        if tail and min(OSA.distance(rest, w) for w in ("集团", "公司")) > 1:
            continue
        industry = next((w for w in _INDUSTRIES if stem.endswith(w)), None)
        if industry is not None and len(stem) > len(industry):
            return stem, industry
    return text, None


def spans(text: str, words: list[str]) -> list[tuple[str, int]]:
    """Greedy longest-first occurrences of words in text, left to right."""
    found, i = [], 0
    while i < len(text):
        word = next((w for w in words if text.startswith(w, i)), None)
        found += [(word, i)] if word else []
        i += len(word) if word else 1
    return found


def parse_name(name: str, *, enterprise: bool) -> ParsedName:
    """A project (or enterprise) name taken apart for scoring; see `name_match`."""
    text = fold(name)
    branch: str | None = None
    if enterprise and (m := _BRANCH.match(drop_noise(text))):
        text, branch = m.group(1), _strip_regions(m.group(2))[1] or m.group(2)
    text, numbers, loose = _designators(text)
    marks = tuple(sorted(_LETTERS.findall(text) + [f"{d}路" for d in _DIRECTION.findall(text)]))
    text, county = _strip_regions(text)
    if enterprise:
        text, industry = _industry(_strip_suffixes(text, LEGAL_FORMS))
        stem = text[: len(text) - len(industry or "")]
        common = tuple(i >= len(stem) for i in range(len(text)))  # the trade name is all its own
        kinds = frozenset([industry] if industry else [])
    else:
        text = _strip_suffixes(text, PROJECT_SUFFIXES)
        mask = [False] * len(text)
        for word, start in spans(text, _PROJECT_COMMON):
            mask[start : start + len(word)] = [True] * len(word)
        common, stem = tuple(mask), text
        kinds = frozenset(PROJECT_KINDS[w] for w, _ in spans(text, KIND_WORDS))
    numbers.sort()
    return ParsedName(
        text, common, tuple(numbers), tuple(loose), marks, county, kinds, stem, branch
    )
