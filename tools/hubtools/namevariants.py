"""How people actually type a project name, for `hubtools.namegen`: traditional characters,
full-width letters, and one-character slips in a place name; and what a slip must not be
confused with: a sibling estate of another meaning, a number with a prefix digit more.

The data here is the generator's own: traditional forms of the characters it writes (taken once
from OpenCC's s2t tables, without 里 and 台, whose traditional forms depend on the word), groups
of characters that sound alike, pairs of estate names one character and a meaning apart. It
knows nothing of the matcher's phonetics, place names or word lists.
"""

from __future__ import annotations

import random

_SIMPLIFIED = (
    "业东乡产仓体兖关兴凤务区医华厂县发号吴团园圣场块妇学宁实宽广庄床库开张恒悦户旧机杨标栋桥"
)
_SIMPLIFIED += (
    "楼沟济润湾热环电矿筑红纺细织绣综绿网药营装观许设诊谐责货购车轩输达运邹铁锦镇长门间闸阁阳"
)
_SIMPLIFIED += "静韩项颜风饰馆马驿验鱼鲁龙"
_TRADITIONAL = (
    "業東鄉產倉體兗關興鳳務區醫華廠縣發號吳團園聖場塊婦學寧實寬廣莊牀庫開張恆悅戶舊機楊標棟橋"
)
_TRADITIONAL += (
    "樓溝濟潤灣熱環電礦築紅紡細織繡綜綠網藥營裝觀許設診諧責貨購車軒輸達運鄒鐵錦鎮長門間閘閣陽"
)
_TRADITIONAL += "靜韓項顏風飾館馬驛驗魚魯龍"
TRADITIONAL = str.maketrans(_SIMPLIFIED, _TRADITIONAL)

# Characters of one sound (tones aside): an input method offers them for the same pinyin.
HOMOPHONES = (
    "星兴行形",
    "河和合荷禾",
    "安按岸",
    "源园元原苑圆",
    "营赢盈迎英",
    "金今津晋",
    "城成程诚承",
    "龙隆",
    "明名鸣铭",
    "华花化",
    "光广",
    "平萍评",
    "达大答",
    "宁凝",
    "泰太",
    "文闻温",
    "新心欣鑫",
    "德得",
    "开凯",
    "春纯",
    "庄装壮",
    "张章彰",
    "古谷鼓",
    "湖胡",
    "山衫珊",
    "阳洋杨扬",
    "桥乔侨",
    "集吉极",
)
_SOUND = {c: group for group in HOMOPHONES for c in group}
# Characters of another sound, for a slip that does not keep it; no road direction (东, 西),
# which makes another road (建设路, 建设西路) as far as any text can tell.
_OTHER_SOUND = "和通民福利顺丰高长平口里水清美丽泉林海宝强"

# Estate names of one contractor that differ in one character and in meaning (运河, 运通).
SIBLING_ESTATES = (
    ("运河", "运通"),
    ("红星", "红旗"),
    ("金城", "金都"),
    ("光明", "光华"),
    ("和平", "和谐"),
    ("平安", "平和"),
    ("兴隆", "兴旺"),
    ("春秋", "春天"),
    ("文化", "文明"),
    ("新华", "新城"),
    ("明德", "明珠"),
    ("育才", "育英"),
    ("九龙", "九州"),
    ("太白", "太平"),
    ("荷花", "荷塘"),
    ("北湖", "北海"),
    ("东方", "东风"),
    ("阳光", "阳明"),
    ("幸福", "幸运"),
    ("长安", "长城"),
    ("锦绣", "锦江"),
    ("天宇", "天成"),
)
PLACE_ESTATES = tuple(w for pair in SIBLING_ESTATES for w in pair)


def traditional(text: str) -> str:
    """The text in traditional characters, as a Hong Kong or Taiwan system writes it."""
    return text.translate(TRADITIONAL)


def slipped(word: str, rng: random.Random, *, same_sound: bool) -> str | None:
    """The word with one character replaced: by one of the same sound, or of another sound.
    None when no character of the word can be replaced that way."""
    spots = [i for i, c in enumerate(word) if c in _SOUND] if same_sound else list(range(len(word)))
    if not spots:
        return None
    i = rng.choice(spots)
    if same_sound:
        choices = [c for c in _SOUND[word[i]] if c != word[i]]
    else:
        choices = [c for c in _OTHER_SOUND if c not in _SOUND.get(word[i], word[i])]
    return word[:i] + rng.choice(choices) + word[i + 1 :]


def sound_alike(a: str, b: str) -> bool:
    """Two names of one length whose differing characters all sound alike."""
    return len(a) == len(b) and all(
        x == y or _SOUND.get(x, x) == _SOUND.get(y, y) for x, y in zip(a, b, strict=True)
    )
