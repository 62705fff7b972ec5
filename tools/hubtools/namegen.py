"""Labelled pairs of Jining project and enterprise names, for measuring the name matcher.

Deterministic for a seed. Each pair is (a, b, same, kind); kind is "<project|enterprise>.<what>".
Positives render one entity twice: side b changes one thing (region prefix, widths, brackets,
spacing, legal or project suffix, 集团, building notation, numerals, word order, or a typo: one
character substituted, missing or swapped) and, one time in four, a formatting detail more.
Negatives are two entities a contractor or a county really has side by side (another
building, phase or section, a dropped phase, another project kind on the same road, another
school number, an estate or trade name one character away, a trade name extended by one
character, a sibling company, a branch, another county), rendered with the same kinds of
variation, typos included. This module knows nothing of the matcher.

Labelling choices: a name that drops a phase or building number the other one names is a
different (or at best unknown) project, so False; typos never touch numerals (a mistyped number
cannot be told from another building); a negative whose noise undid its difference is drawn
again. A typo is one positive variation among the others (`typo_weight=3`: three of them).

How people type (`hubtools.namevariants`): positives also come in traditional characters,
and with a one-character slip in a place name (a road's, a street's or a place-named
estate's), keeping the sound or not. Confusers also include sibling estates whose names differ
in one character of meaning (运河, 运通) and numbers with a prefix digit more (3#, 13#; 3区,
13区; DK3, DK13). Labelling choice: an estate name of the same sound on the same road, with
every number equal, is a slip, so `similar_name` confusers differ in sound.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from hubtools import namevariants as nv


class NamePair(NamedTuple):
    a: str
    b: str
    same: bool
    kind: str


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COUNTIES = _words("任城区 兖州区 微山县 鱼台县 金乡县 嘉祥县 汶上县 泗水县 梁山县 曲阜市 邹城市")
ROADS = _words(
    "古槐路 太白楼路 红星路 共青团路 建设路 琵琶山路 运河路 洸河路 火炬路"
    " 金宇路 崇文大道 荷花路 济安桥路 吴泰闸路 英萃路 如意路 金城街 仙营路"
    " 科苑路 北湖路 环城西路 任兴路 越河路 宁安大道 车站西路 明德路 中御桥路"
    " 九龙路 十里营路 开元路 孔子大道 春秋路 静轩路 鲁源大道 光明路 人民路"
    " 文化路 新华路 解放路 和平路 育才路 兴隆路 平安路 建设东路 建设西路"
    " 红星东路"
)
PLACES = _words(
    "唐口街道 南张街道 仙营街道 越河街道 观音阁街道 李营街道 喻屯镇 长沟镇"
    " 安居街道 柳行街道 金城街道 许庄街道 接庄街道 济河街道 南苑街道 鼓楼街道"
    " 新驿镇 漕河镇 颜店镇 小孟镇 大安镇 古城街道 王因街道 马坡镇 城关镇"
    " 胡集镇 羊山镇 老僧堂镇 杨柳镇 韩庄镇"
)
_FIRST = "鑫金华盛宏恒泰瑞祥福嘉和君锦御龙凤天东海圣鲁"
_SECOND = "源苑达府城园庭都湾悦景安居邦润昌泰隆兴"
NAMES2 = tuple(f + s for f in _FIRST for s in _SECOND if f != s)
RESIDENTIAL = ("住宅小区", "小区", "花园", "家园", "名苑", "华府", "安置小区")
COMMERCIAL = ("商业综合体", "商业广场", "购物中心", "商务中心", "酒店")
ROADWORK = ("道路改造", "道路拓宽改造", "雨污分流改造", "提升改造", "供热管网改造", "绿化提升")
RENEWAL = ("棚户区改造", "片区棚户区改造", "老旧小区改造", "安置房")
SCHOOLS = ("第{}中学", "第{}小学", "第{}实验小学")
HOSPITALS = ("人民医院", "中医院", "妇幼保健院", "第{}人民医院")
SCHOOL_BUILDINGS = ("教学楼", "综合楼", "宿舍楼", "实验楼", "体育馆", "食堂")
HOSPITAL_BUILDINGS = ("门诊楼", "病房楼", "医技楼", "综合楼", "发热门诊")
PLANT_LINES = ("机械", "化工", "医药", "纺织", "食品", "新材料", "煤化工")
PLANT_BUILDINGS = ("厂房", "生产车间", "仓库", "研发楼")
SIBLINGS = (
    ("建设", "建工", "建筑", "建筑工程", "建安", "建筑安装", "建设工程"),
    ("路桥", "市政", "公路工程", "市政工程", "路桥工程"),
    ("房地产开发", "置业", "地产", "城建"),
    ("装饰", "装饰工程", "建筑装饰", "装饰装修"),
    ("园林", "园林绿化", "园林工程", "环境工程"),
    ("机械", "机电", "机械制造", "重工", "机床"),
    ("化工", "化学", "精细化工", "新材料"),
    ("煤业", "矿业", "能源", "煤炭"),
    ("物流", "运输", "交通运输", "货运"),
)
LEGAL = ("有限公司", "有限责任公司", "股份有限公司")
SERIES = ("中建{}局", "中铁{}局", "中铁建工{}局", "中交{}航局", "中冶{}局")
TYPO_POOL = "的国家年发展工作建设新城市中华人民共和区县镇街路村小学医院商业广场住宅花园家园名苑"
TYPO_POOL += "鑫金盛宏恒泰瑞祥福嘉君锦御龙凤天东海圣鲁源达府园庭都湾悦景安居邦润昌隆兴科技实业"
TYPO_POOL += (
    "集团有限责任公司股份工程机械化医药纺织食品材料物流运输置业地产装饰园林煤矿能源济宁山东"
)
NUMERALS = "〇零一二三四五六七八九十百"
PROTECTED = NUMERALS + "期号楼栋标段第#"
_CN = "零一二三四五六七八九"
_WIDE = {ord(c): ord(c) + 0xFEE0 for c in "0123456789#()ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_PLACE_ENDINGS = ("街道", "大道", "路", "街", "镇")


def cn_number(n: int) -> str:
    """1..99 in Chinese numerals: 3 -> 三, 12 -> 十二, 20 -> 二十."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _CN[ones]
    return ("" if tens == 1 else _CN[tens]) + "十" + ("" if ones == 0 else _CN[ones])


@dataclass(frozen=True)
class Project:
    county: str
    place: str  # a road, street or institution ("古槐路", "第{}中学")
    name: str  # an estate or plant name, may be empty
    what: str  # the project type ("住宅小区", "教学楼", "道路改造")
    no: int | None = None  # fills "{}" in place (a school's or hospital's number)
    phase: int | None = None
    building: int | None = None
    section: int | None = None
    zone: int | None = None  # 3区
    plot: int | None = None  # 3号地块, DK3


@dataclass(frozen=True)
class Enterprise:
    county: str | None  # None: registered at city level ("济宁") or province level ("山东")
    province: bool
    trade: str
    industry: str
    group: bool
    legal: str
    branch: str | None = None
    series_no: int | None = None  # fills "{}" in trade ("中建{}局")


@dataclass(frozen=True)
class Style:
    region: int = 0
    arabic: bool = False  # 3期 / 三期, 2标段 / 二标段
    notation: int = 0  # building: 3#楼 / 3号楼 / 3# / 3栋 / 3楼 / 三号楼
    bracket: int = 0  # phase or 集团: bare / （） / ()
    suffix: int = 0
    legal: str | None = None  # an enterprise's legal form as written
    group_flip: bool = False  # 集团 written where the registered name has none, or dropped
    wide: bool = False
    spaced: bool = False
    swapped: bool = False
    first_section: bool = False  # "第二标段" vs "二标段"


def _regions(county: str | None, province: bool) -> tuple[str, ...]:
    if province:
        return ("山东", "山东省", "")
    if county is None:
        return ("济宁", "济宁市", "山东省济宁市", "")
    short = county[:-1]
    return (county, "", short, "济宁市" + county, "山东省济宁市" + county, "济宁" + short)


def _bracket(text: str, style: int) -> str:
    return (text, f"（{text}）", f"({text})")[style]


def _finish(parts: list[str], s: Style) -> str:
    text = (" " if s.spaced else "").join(p for p in parts if p)
    return text.translate(_WIDE) if s.wide else text


def render_project(p: Project, s: Style) -> str:
    place = p.place.format(cn_number(p.no)) if p.no is not None else p.place
    body = [place, p.name + p.what]
    if s.swapped and place:
        body = [p.name + p.what, _bracket(place, s.bracket or 1)]
    marks: list[str] = []
    if p.phase is not None:
        marks.append(_bracket(f"{p.phase if s.arabic else cn_number(p.phase)}期", s.bracket))
    if p.building is not None:
        n = p.building
        marks.append(
            (f"{n}#楼", f"{n}号楼", f"{n}#", f"{n}栋", f"{n}楼", f"{cn_number(n)}号楼")[s.notation]
        )
    if p.zone is not None:
        marks.append(f"{p.zone}区")
    if p.plot is not None:
        marks.append((f"{p.plot}号地块", f"DK{p.plot}", f"{p.plot}地块")[s.notation % 3])
    if p.section is not None:
        n_text = str(p.section) if s.arabic else cn_number(p.section)
        marks.append(("第" if s.first_section else "") + n_text + "标段")
    if s.swapped and len(marks) > 1:
        marks.reverse()
    region = _regions(p.county, False)[s.region % 6]
    suffix = ("项目", "工程", "建设项目", "", "建设工程")[s.suffix % 5]
    return _finish([region, *body, *marks, suffix], s)


def render_enterprise(e: Enterprise, s: Style) -> str:
    trade = e.trade.format(cn_number(e.series_no)) if e.series_no is not None else e.trade
    regions = _regions(e.county, e.province)
    region = regions[s.region % len(regions)]
    group = e.group != s.group_flip
    parts = [region, trade, e.industry]
    if s.swapped and region:  # 字号（行政区划）行业: a lawful order of the same name
        short = region.removeprefix("山东省济宁市").removeprefix("济宁市") or region
        parts = [trade, _bracket(short, s.bracket or 1), e.industry]
    parts += [_bracket("集团", s.bracket) if group else "", s.legal or e.legal]
    return _finish([*parts, e.branch or ""], s)


def typo(text: str, rng: random.Random, how: str) -> str:
    """One character substituted, missing or transposed; numerals and building marks kept."""
    spots = [i for i, c in enumerate(text) if "\u4e00" <= c <= "\u9fff" and c not in PROTECTED]
    if how == "transposed":
        spots = [i for i in spots if i + 1 in spots and text[i] != text[i + 1]]
    if not spots:
        return text
    i = rng.choice(spots)
    if how == "missing":
        return text[:i] + text[i + 1 :]
    if how == "transposed":
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    other = rng.choice([c for c in TYPO_POOL if c != text[i]])
    return text[:i] + other + text[i + 1 :]


FORMAT_KINDS = ("region", "width", "brackets", "spacing", "suffix", "notation", "numerals")
TYPO_KINDS = ("typo_substituted", "typo_missing", "typo_transposed")
SLIP_KINDS = ("slip_same_sound", "slip_other_sound")
PROJECT_VARIATIONS = (*FORMAT_KINDS, "typo", "word_order", "traditional", *SLIP_KINDS)
ENTERPRISE_VARIATIONS = _words(
    "region width spacing legal_suffix group word_order typo traditional"
)


def _vary(s: Style, kind: str, rng: random.Random) -> Style:
    """The style with one formatting variation applied (typos are applied to the text)."""
    changes: dict[str, Callable[[], Style]] = {
        "region": lambda: replace(s, region=rng.choice([r for r in range(6) if r != s.region])),
        "width": lambda: replace(s, wide=not s.wide),
        "brackets": lambda: replace(s, bracket=rng.choice([b for b in range(3) if b != s.bracket])),
        "spacing": lambda: replace(s, spaced=not s.spaced),
        "suffix": lambda: replace(s, suffix=rng.choice([x for x in range(5) if x != s.suffix])),
        "notation": lambda: replace(
            s, notation=rng.choice([x for x in range(6) if x != s.notation])
        ),
        "numerals": lambda: replace(s, arabic=not s.arabic, first_section=not s.first_section),
        "word_order": lambda: replace(s, swapped=not s.swapped),
        "legal_suffix": lambda: replace(s, legal=rng.choice(LEGAL)),
        "group": lambda: replace(s, group_flip=not s.group_flip),
    }
    return changes[kind]() if kind in changes else s


def random_style(rng: random.Random) -> Style:
    return Style(
        region=rng.randrange(6),
        arabic=rng.random() < 0.3,
        notation=rng.randrange(6),
        bracket=rng.choice((0, 0, 1, 2)),
        suffix=rng.randrange(5),
        wide=rng.random() < 0.1,
        spaced=rng.random() < 0.1,
        first_section=rng.random() < 0.5,
    )


def random_project(
    rng: random.Random, county: str | None = None, shapes: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
) -> Project:
    """Shapes: 0 housing, 1 commercial, 2 road works, 3 renewal, 4 school or hospital, 5 plant."""
    county = county or rng.choice(COUNTIES)
    shape = rng.choice(shapes)
    no: int | None = None
    estate = rng.choice(NAMES2) if rng.random() < 0.75 else rng.choice(nv.PLACE_ESTATES)
    if shape == 0:
        place, name, what = rng.choice((*ROADS, "")), estate, rng.choice(RESIDENTIAL)
    elif shape == 1:
        place, name, what = rng.choice((*ROADS, "")), estate, rng.choice(COMMERCIAL)
    elif shape == 2:
        place, name, what = rng.choice(ROADS), "", rng.choice(ROADWORK)
    elif shape == 3:
        place, name, what = rng.choice(PLACES), rng.choice(("", *NAMES2[:40])), rng.choice(RENEWAL)
    elif shape == 4:
        place = rng.choice(SCHOOLS + HOSPITALS)
        name, what = "", rng.choice(SCHOOL_BUILDINGS if "学" in place else HOSPITAL_BUILDINGS)
        no = rng.randint(1, 15) if "{}" in place else None
    else:
        place, name = rng.choice(("", *PLACES)), rng.choice(NAMES2) + rng.choice(PLANT_LINES)
        what = rng.choice(PLANT_BUILDINGS)
    roomy = shape in (0, 1, 3)
    return Project(
        county=county,
        place=place,
        name=name,
        what=what,
        no=no,
        phase=rng.randint(1, 4) if rng.random() < (0.45 if roomy else 0.15) else None,
        building=rng.randint(1, 30) if rng.random() < (0.4 if roomy else 0.15) else None,
        section=rng.randint(1, 5) if rng.random() < (0.1 if roomy else 0.35) else None,
    )


def random_enterprise(rng: random.Random) -> Enterprise:
    level = rng.random()
    family = rng.choice(SIBLINGS)
    series = rng.random() < 0.06
    trade = rng.choice(SERIES) if series else rng.choice(NAMES2)
    if not series and rng.random() < 0.25:
        trade += rng.choice(_SECOND + _FIRST)
    return Enterprise(
        county=rng.choice(COUNTIES) if level < 0.6 else None,
        province=level >= 0.85,
        trade=trade,
        industry=rng.choice(family) if not series else rng.choice(("建设", "工程", "建筑")),
        group=rng.random() < 0.3,
        legal=rng.choice(LEGAL),
        series_no=rng.randint(1, 25) if series else None,
    )


def _other(rng: random.Random, old: str, pool: tuple[str, ...], near: bool = False) -> str:
    """Another value from pool; `near` prefers one sharing the first character."""
    choices = [x for x in pool if x != old and (not near or x[:1] == old[:1])]
    return rng.choice(choices or [x for x in pool if x != old])


def _with(p: Project, field: str, value: int | None) -> Project:
    change: dict[str, Any] = {field: value}
    return replace(p, **change)


def _designated(rng: random.Random, p: Project, field: str) -> Project:
    if getattr(p, field) is None:
        p = _with(p, field, rng.randint(1, 30 if field == "building" else 4))
    return p


def project_confuser(rng: random.Random, kind: str) -> tuple[Project, Project]:
    buildings = kind == "building" or kind == "designator_dropped"
    shapes = (0, 1, 3, 5) if buildings or kind == "project_type" else (0, 1, 2, 3, 4, 5)
    p = random_project(rng, shapes=shapes)
    if kind in ("building", "phase", "section"):
        p = _designated(rng, p, kind)
        old = getattr(p, kind)
        top = 30 if kind == "building" else 4
        new = rng.choice([n for n in range(1, top + 1) if n != old])
        return p, _with(p, kind, new)
    if kind == "designator_dropped":
        field = rng.choice(("phase", "phase", "building", "building", "section"))
        p = _designated(rng, p, field)
        return p, _with(p, field, None)
    if kind == "project_type":
        families = (RESIDENTIAL, COMMERCIAL, ROADWORK, RENEWAL, PLANT_BUILDINGS)
        family = next((f for f in families if p.what in f), SCHOOL_BUILDINGS)
        others = [w for f in families if f is not family for w in f]
        return p, replace(p, what=rng.choice(others))
    if kind == "building_type":
        p = replace(p, place=rng.choice(SCHOOLS + HOSPITALS), name="", no=None)
        p = replace(p, no=rng.randint(1, 15)) if "{}" in p.place else p
        pool = SCHOOL_BUILDINGS if "学" in p.place else HOSPITAL_BUILDINGS
        p = replace(p, what=rng.choice(pool))
        return p, replace(p, what=_other(rng, p.what, pool))
    if kind == "institution_no":
        p = replace(p, place=rng.choice(SCHOOLS), name="", what=rng.choice(SCHOOL_BUILDINGS))
        p = replace(p, no=rng.randint(1, 15))
        return p, replace(p, no=rng.choice([n for n in range(1, 16) if n != p.no]))
    if kind == "similar_name":  # same road, an estate whose name shares a character
        p = replace(p, name=rng.choice(NAMES2), what=rng.choice(RESIDENTIAL + COMMERCIAL))
        unlike = tuple(n for n in NAMES2 if not nv.sound_alike(n, p.name))
        return p, replace(p, name=_other(rng, p.name[:2], unlike, near=True) + p.name[2:])
    if kind == "sibling_estate":  # 运河花园, 运通花园 of one contractor
        names = rng.sample(rng.choice(nv.SIBLING_ESTATES), 2)
        p = replace(p, name=names[0], what=rng.choice(RESIDENTIAL + COMMERCIAL))
        return p, replace(p, name=names[1])
    if kind == "prefix_digit":  # 3#楼 and 13#楼, 3区 and 13区, DK3 and DK13
        field, n = rng.choice(("building", "zone", "plot")), rng.randint(1, 9)
        p = _with(p, field, n)
        return p, _with(p, field, int(f"{rng.randint(1, 9)}{n}"))
    if kind == "other_place":
        streets = PLACES if p.place in PLACES else ROADS
        p = replace(p, place=p.place if "{}" not in p.place and p.place else rng.choice(streets))
        return p, replace(p, place=_other(rng, p.place, streets, near=rng.random() < 0.5))
    if kind == "other_county":
        return p, replace(p, county=_other(rng, p.county, COUNTIES))
    return p, random_project(rng, p.county)  # "other_project": same county, another project


def slip_in_place(rng: random.Random, kind: str) -> tuple[Project, Project] | None:
    """A project and the same project with one character of its place name slipped: the road's
    or street's name (红星路: 红和路) or a place-named estate's (运河花园: 运和花园)."""
    p = random_project(rng, shapes=(0, 1, 2, 3))
    fields = ["place"] if p.place and "{}" not in p.place else []
    fields += ["name"] if p.name in nv.PLACE_ESTATES else []
    if not fields:
        return None
    field = rng.choice(fields)
    value: str = getattr(p, field)
    ending = next((e for e in _PLACE_ENDINGS if field == "place" and value.endswith(e)), "")
    word = value.removesuffix(ending) if ending else value
    new = nv.slipped(word, rng, same_sound=kind == "slip_same_sound")
    if new is None:
        return None
    slip: dict[str, Any] = {field: new + ending}
    return p, replace(p, **slip)


def enterprise_confuser(rng: random.Random, kind: str) -> tuple[Enterprise, Enterprise]:
    e = random_enterprise(rng)
    if e.series_no is not None and kind != "series":
        e = replace(e, trade=rng.choice(NAMES2), series_no=None)
    if kind == "sibling":
        family = next((f for f in SIBLINGS if e.industry in f), SIBLINGS[0])
        e = replace(e, industry=rng.choice(family))
        return e, replace(e, industry=_other(rng, e.industry, family))
    if kind == "similar_trade":
        return e, replace(e, trade=_other(rng, e.trade[:2], NAMES2, near=True) + e.trade[2:])
    if kind == "longer_trade":  # 宏达 and 宏达昌: one trade name extends the other
        return e, replace(e, trade=e.trade + rng.choice(_FIRST + _SECOND))
    if kind == "branch":
        county = rng.choice(("济宁", *COUNTIES))
        return e, replace(e, branch=f"{county}分公司")
    if kind == "series":
        e = replace(e, trade=rng.choice(SERIES), series_no=rng.randint(1, 25), industry="建设")
        assert e.series_no is not None
        return e, replace(e, series_no=rng.choice([n for n in range(1, 26) if n != e.series_no]))
    if kind == "other_county":
        e = replace(e, county=e.county or rng.choice(COUNTIES), province=False)
        assert e.county is not None
        return e, replace(e, county=_other(rng, e.county, COUNTIES))
    other = random_enterprise(rng)  # "other_trade": another company of the same line
    while other.trade == e.trade:
        other = random_enterprise(rng)
    return e, replace(other, industry=e.industry, county=e.county, province=e.province)


PROJECT_CONFUSERS = _words(
    "building phase section designator_dropped project_type building_type institution_no"
    " similar_name other_place other_county other_project sibling_estate prefix_digit"
)
ENTERPRISE_CONFUSERS = _words(
    "sibling similar_trade branch series other_county other_trade longer_trade"
)


def _apply(text_of: Callable[[Style], str], s: Style, kind: str, rng: random.Random) -> str:
    if kind in TYPO_KINDS:
        return typo(text_of(s), rng, kind.removeprefix("typo_"))
    if kind == "traditional":
        return nv.traditional(text_of(s))
    return text_of(_vary(s, kind, rng))


def _renderers(
    rng: random.Random, entity: str, same: bool, kind: str
) -> tuple[Callable[[Style], str], Callable[[Style], str]] | None:
    """How to write the two entities of a pair, or None when the confuser came out equal."""
    if entity == "project":
        if kind in SLIP_KINDS:
            slip = slip_in_place(rng, kind)
            if slip is None:
                return None
            pa, pb = slip
        else:
            pa, pb = (p := random_project(rng), p) if same else project_confuser(rng, kind)
        if not same and pa == pb:
            return None
        return (lambda s: render_project(pa, s)), (lambda s: render_project(pb, s))
    ea, eb = (e := random_enterprise(rng), e) if same else enterprise_confuser(rng, kind)
    if not same and ea == eb:
        return None
    return (lambda s: render_enterprise(ea, s)), (lambda s: render_enterprise(eb, s))


def _pair(rng: random.Random, entity: str, same: bool, typo_weight: int) -> NamePair:
    variations = PROJECT_VARIATIONS if entity == "project" else ENTERPRISE_VARIATIONS
    variations += ("typo",) * (typo_weight - 1)
    confusers = PROJECT_CONFUSERS if entity == "project" else ENTERPRISE_CONFUSERS
    kind = _draw(rng, variations if same else confusers)
    if kind == "other_county":  # both names must show their county, or the label is unknowable
        variations = tuple(v for v in variations if v != "region")
    while True:
        writers = _renderers(rng, entity, same, kind)
        if writers is None:
            continue
        style = random_style(rng)
        if kind == "other_county":
            style = replace(style, region=rng.choice((0, 2, 3, 4, 5)))
        b_style = style
        if rng.random() < 0.25:  # now and then a second, formatting-only variation
            b_style = _vary(style, rng.choice([k for k in FORMAT_KINDS if k in variations]), rng)
        # negatives carry the same kinds of noise as positives, typos included
        b = _apply(writers[1], b_style, kind if same else _draw(rng, variations), rng)
        a = writers[0](style)
        if a == b:  # a variation that changed nothing (no building to renumber): draw again
            continue
        if same and b == writers[0](b_style):  # the variation changed nothing
            continue
        if not same and b == writers[0](b_style):  # the noise undid the difference
            continue
        return NamePair(a, b, same, f"{entity}.{kind}")


def _draw(rng: random.Random, kinds: tuple[str, ...]) -> str:
    kind = rng.choice(kinds)
    return rng.choice(TYPO_KINDS) if kind == "typo" else kind


def generate_pairs(n: int = 10_000, *, seed: int = 64, typo_weight: int = 1) -> list[NamePair]:
    """n labelled pairs, about half positives, 55% project names and 45% enterprise names.

    A typo (substituted, missing or swapped character) is one positive variation among the
    others; `typo_weight` 3 makes it three, for a harsher, typo-heavy mix."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    pairs = []
    for i in range(n):
        entity = "project" if rng.random() < 0.55 else "enterprise"
        pairs.append(_pair(rng, entity, same=i % 2 == 0, typo_weight=typo_weight))
    return pairs


if __name__ == "__main__":
    for pair in generate_pairs(40):
        print(f"{pair.same!s:5} {pair.kind:32} {pair.a}  |  {pair.b}")
