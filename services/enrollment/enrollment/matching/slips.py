"""Is one character that differs between two project names a slip, or another name?

An input-method slip keeps the sound (红星 typed as 红兴, 文化路 as 文华路: the wrong candidate
of the same pinyin, often a word itself) or turns a known place name into a string
that names nothing (红星路 as 红和路, 济安桥路 as 济和桥路). Two known places of Jining (洸河
and 运河, 南张 and 南苑) are two places whatever their sound; two known names of different
sound (运河 and 运通) are two names; two unknown names of different sound (鑫源, 鑫达) are
undecidable and not taken for a slip.

Known places are Jining's roads, streets and towns (domain data, kept here); known words are
jieba's dictionary, read once on first use.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Final, NamedTuple

from pypinyin import Style, pinyin

# Jining's roads, streets, towns and rivers without their 路, 街, 大道, 街道 or 镇.
KNOWN_PLACES: Final = frozenset(
    (
        *("古槐", "太白楼", "太白湖", "红星", "共青团", "建设", "琵琶山", "运河", "洸河", "洸府河"),
        *("火炬", "金宇", "崇文", "荷花", "济安桥", "吴泰闸", "英萃", "如意", "金城", "仙营"),
        *("科苑", "北湖", "环城", "任兴", "越河", "宁安", "车站", "明德", "中御桥", "九龙"),
        *("十里营", "开元", "孔子", "春秋", "静轩", "鲁源", "光明", "人民", "文化", "新华"),
        *("解放", "和平", "育才", "兴隆", "平安", "海关", "青年", "常青", "府河", "黄河"),
        *("菱花", "浣笔泉", "嘉达", "五里营", "诗仙", "翰林", "同济", "永丰", "龙行", "秀水"),
        *("济邹", "杨柳", "唐口", "南张", "观音阁", "李营", "喻屯", "长沟", "安居", "柳行"),
        *("许庄", "接庄", "济河", "南苑", "鼓楼", "新驿", "漕河", "颜店", "小孟", "大安"),
        *("古城", "王因", "马坡", "城关", "胡集", "羊山", "老僧堂", "韩庄", "二十里铺", "石桥"),
        *("阜桥", "济安", "安康", "济阳", "金乡", "嘉祥", "汶上", "泗水", "梁山", "曲阜"),
        *("邹城", "兖州", "微山", "鱼台", "任城", "南阳湖", "微山湖", "独山湖", "泗河", "白马河"),
    )
)


class Slip(NamedTuple):
    """Why a differing character was taken for a slip, in Chinese and in English."""

    chinese: str
    english: str


@cache
def _lexicon() -> frozenset[str]:
    """Words of two to four characters in jieba's dictionary (about 300,000)."""
    text = files("jieba").joinpath("dict.txt").read_text(encoding="utf-8")
    return frozenset(
        w for w, *_ in (line.split(" ", 1) for line in text.splitlines()) if len(w) > 1
    )


def known(word: str) -> bool:
    """A known place of Jining or a dictionary word."""
    return word in KNOWN_PLACES or (len(word) <= 4 and word in _lexicon())


def same_sound(a: str, b: str) -> bool:
    """Two characters of one usual reading, tones ignored (an input method ignores them); rare
    readings would make 方 sound like 风."""
    return _reading(a) == _reading(b)


def _reading(c: str) -> str:
    return pinyin(c, style=Style.NORMAL)[0][0]


def judge(a_word: str, b_word: str, at: int) -> Slip | None:
    """Whether b_word is a slip of a_word (or a_word of b_word): equal length, one character
    different at `at`. None when they may be two names."""
    ca, cb = a_word[at], b_word[at]
    if a_word in KNOWN_PLACES and b_word in KNOWN_PLACES:
        return None  # 洸河 and 运河, 南张 and 南苑: two places of Jining, whatever their sound
    if same_sound(ca, cb):  # the input method's wrong candidate, often a word itself (文化, 文华)
        sound = _reading(ca)
        return Slip(
            f"{a_word}/{b_word}: {ca}与{cb}同音, 输入法选字之误",
            f"the differing characters sound alike ({sound}): an input-method slip",
        )
    place, other = (a_word, b_word) if a_word in KNOWN_PLACES else (b_word, a_word)
    if place not in KNOWN_PLACES or known(other):
        return None  # 运河 and 运通: two names; 鑫源 and 鑫达: undecidable
    return Slip(
        f"{other}不是地名或词语, {place}是济宁地名",
        "a known Jining place name against a string that names nothing",
    )
