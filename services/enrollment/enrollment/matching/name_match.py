"""Scoring two Chinese project or enterprise names: are they the same project, the same company?

Used when identifiers are missing or mistyped, on candidates inside blocking keys (division,
employer). Pure functions, no I/O. A score is 0-1 with a short reason (Chinese and English)
for the alert's evidence and the coverage explanation; `is_match` applies the threshold.

How a score is made:
1. Both names are folded (full-width, case), numbered designators are read out (3#楼, 三号楼,
   3栋 -> building 3; 二期, 2期 -> phase 2; 第三标段; 第八中学; 中建八局), region prefixes
   (山东省, 济宁市, counties) and legal or project suffixes are dropped, brackets and spaces
   removed.
2. Vetoes (score 0): the numbers differ (another building, phase, section or school), the
   counties differ, the project kinds differ (住宅小区 vs 商业综合体, 教学楼 vs 综合楼), the
   stated industries differ (鲁班建设 vs 鲁班建工: sibling companies), one is a branch.
3. Otherwise the similarity of what is left (OSA, best over rotations so that a moved
   component costs nothing). Edits inside common words (小区, 街道, 有限公司) are typos; edits
   in the distinctive part (an estate's, a road's or a company's own name) are tolerated
   only as one missing or swapped character, as one substitution in a long name, or, in a
   project name, as a slip (`slips`): a character of the same sound (鑫源, 鑫苑: the input
   method's wrong candidate) or a known Jining place turned into a string naming nothing
   (红星路, 红和路). Two known names (运河, 运通) are two names; two unknown names of
   different sound (鑫源, 鑫达) are undecidable and stay apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from rapidfuzz.distance import OSA, Levenshtein

from enrollment.matching import slips
from enrollment.matching.names import KIND_WORDS, PROJECT_KINDS, ParsedName, parse_name, spans

DEFAULT_THRESHOLD: Final = 0.85
# A character missing from the distinctive part is a typo only if this much is left: trade
# names extend one another (宏达, 宏达昌), a project's road and estate names rarely do.
_MISSING_MIN_ENTERPRISE: Final = 4
_MISSING_MIN_PROJECT: Final = 3


@dataclass(frozen=True)
class NameScore:
    score: float  # 0-1
    reason: str  # short, Chinese then English in brackets


def is_match(score: NameScore | float, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True when the score is at or above the threshold."""
    value = score.score if isinstance(score, NameScore) else score
    return value >= threshold


def _kinds_differ(a: ParsedName, b: ParsedName, enterprise: bool) -> bool:
    """Two kinds of project (neither name's kinds contain the other's: a typo can lose a kind
    word, not invent another), or two industries after one trade name (鲁班建设, 鲁班建工)."""
    if not a.kinds or not b.kinds or a.kinds == b.kinds:
        return False
    if enterprise:
        return a.stem == b.stem
    ka, kb = a.kinds | _mistyped_kinds(b, a), b.kinds | _mistyped_kinds(a, b)
    return not (ka <= kb or kb <= ka)


def _mistyped_kinds(p: ParsedName, other: ParsedName) -> frozenset[str]:
    """Kinds of `p` that `other` names with one typo (老旧小区改 for 老旧小区改造)."""
    found = set()
    for word, _ in spans(p.text, KIND_WORDS):
        n = len(word)
        if n >= 3 and PROJECT_KINDS[word] not in other.kinds:
            heads = (
                other.text[i : i + k] for k in (n - 1, n, n + 1) for i in range(len(other.text))
            )
            if any(OSA.distance(h, word) <= 1 for h in heads):
                found.add(PROJECT_KINDS[word])
    return frozenset(found)


def _numbers_agree(a: ParsedName, b: ParsedName) -> bool:
    """Same designators. A unit lost to a typo (第七学中, 中冶九君) leaves the number, which
    then still agrees; a number missing altogether (鑫源小区 vs 鑫源小区二期) does not."""
    only_a = Counter(a.numbers) - Counter(b.numbers)
    only_b = Counter(b.numbers) - Counter(a.numbers)
    loose_a = Counter(a.loose) - Counter(b.loose)  # numerals one name has as text, the other not
    loose_b = Counter(b.loose) - Counter(a.loose)

    def explained(
        rest: Counter[tuple[str, int]], theirs: Counter[tuple[str, int]], loose: Counter[int]
    ) -> bool:
        return all(loose[v] or any(v == w and "" in (c, d) for d, w in theirs) for c, v in rest)

    return explained(only_a, only_b, loose_b) and explained(only_b, only_a, loose_a)


def _marks_found(a: ParsedName, b: ParsedName) -> bool:
    """Every letter and road direction of a is in b (车站路西 still has its 西)."""
    return all(m in b.marks or m[0] in b.text for m in a.marks)


def _veto(a: ParsedName, b: ParsedName, enterprise: bool) -> tuple[str, str] | None:
    """Why the two names cannot be the same, in Chinese and in English, or None."""
    if not _numbers_agree(a, b):
        shown = [" ".join(f"{n}{u}" for u, n in p.numbers) or "无" for p in (a, b)]
        return f"编号不一致: {shown[0]} ≠ {shown[1]}", "building, phase or other numbers differ"
    if not (_marks_found(a, b) and _marks_found(b, a)):
        shown = ["/".join(p.marks) or "无" for p in (a, b)]
        return f"字母或方位不一致: {shown[0]} ≠ {shown[1]}", "letters or road directions differ"
    if a.county and b.county and a.county != b.county:
        return f"县区不同: {a.county} ≠ {b.county}", "counties differ"
    if _kinds_differ(a, b, enterprise):
        kinds = ["/".join(sorted(p.kinds)) for p in (a, b)]
        if enterprise:
            return f"行业表述不同: {kinds[0]} ≠ {kinds[1]}", "sibling companies"
        return f"项目类型不同: {kinds[0]} ≠ {kinds[1]}", "project kinds differ"
    if a.branch != b.branch:
        return f"分支机构不同: {a.branch or '总公司'} ≠ {b.branch or '总公司'}", "branch differs"
    return None


def _rotated(p: ParsedName, towards: str) -> tuple[str, tuple[bool, ...]]:
    """The rotation of p's text closest to `towards`: 鑫源小区（古槐路） against 古槐路鑫源小区."""
    i = max(range(len(p.text) or 1), key=lambda i: OSA.similarity(p.text[i:] + p.text[:i], towards))
    return p.text[i:] + p.text[:i], p.common[i:] + p.common[:i]


def _one_typo(a: str, ma: tuple[bool, ...], b: str, mb: tuple[bool, ...]) -> tuple[str, bool]:
    """For names one edit apart: which edit ("swap", "missing", "substitution") and whether it
    falls inside a common word."""
    if len(a) == len(b) and Levenshtein.distance(a, b) == 2:
        i = next(i for i in range(len(a)) if a[i] != b[i])
        return "swap", ma[i] or ma[i + 1] or mb[i] or mb[i + 1]
    (op,) = Levenshtein.editops(a, b)
    if op.tag == "replace":
        return "substitution", ma[op.src_pos] or mb[op.dest_pos]
    return "missing", ma[op.src_pos] if op.tag == "delete" else mb[op.dest_pos]


def _score(a_name: str, b_name: str, enterprise: bool) -> NameScore:
    a, b = parse_name(a_name, enterprise=enterprise), parse_name(b_name, enterprise=enterprise)
    veto = _veto(a, b, enterprise)
    if veto is not None:
        # score 0: no threshold accepts it
        return NameScore(0.0, f"{veto[0]}, 否决 ({veto[1]}; vetoed)")
    what = "企业名称" if enterprise else "项目名称"
    if a.text == b.text:
        return NameScore(1.0, f"{what}归一化后相同 (normalised names equal)")
    text, common = _rotated(a, b.text)
    length = max(len(text), len(b.text))
    own = sorted((common.count(False), b.common.count(False)))  # distinctive characters
    edits = OSA.distance(text, b.text)
    if edits == 0:
        return NameScore(1.0, f"{what}调换词序后相同 (same words, different order)")
    if edits == 1:
        edit, in_common = _one_typo(text, common, b.text, b.common)
        slip = None if enterprise or in_common else _slip(text, common, b.text, b.common)
        if slip is not None:
            score = round(1 - 0.5 / length, 3)
            return NameScore(
                score,
                f"名称相似度 {score:.2f}: 编号一致, 名称一字之差视为笔误: {slip.chinese}"
                f" (similarity {score:.2f}: numbers agree, one character differs,"
                f" taken for a slip: {slip.english})",
            )
        shortest = _MISSING_MIN_ENTERPRISE if enterprise else _MISSING_MIN_PROJECT
        if (
            in_common
            or (edit == "swap" and own[0] >= 2)
            or (edit == "missing" and own[0] >= shortest)
        ):
            score = round(1 - 0.5 / length, 3)  # a tolerated typo costs half a character
            where, where_en = ("通用词", "a common word") if in_common else ("名称主体", "the name")
            return NameScore(
                score,
                f"名称相似度 {score:.2f}: 编号一致, {where}一字笔误"
                f" (similarity {score:.2f}: numbers agree, one {edit} typo in {where_en})",
            )
    score = round(max(0.0, 1 - edits / length), 3)
    distinctive = _distinctive_edits(text, common, b.text, b.common)
    if not distinctive:
        return NameScore(
            score,
            f"名称相似度 {score:.2f}: 编号一致, 差异仅在通用词"
            f" (similarity {score:.2f}: numbers agree, differences in common words only)",
        )
    score = min(score, round(1 - distinctive / max(own[1], 1), 3))
    return NameScore(
        score,
        f"名称相似度 {score:.2f}: 名称主体 {own[1]} 字中 {distinctive} 字不同"
        f" (similarity {score:.2f}: {distinctive} of {own[1]} own characters differ)",
    )


def _slip(a: str, ma: tuple[bool, ...], b: str, mb: tuple[bool, ...]) -> slips.Slip | None:
    """For names one substitution apart outside common words: the slip, judged on the run of
    distinctive characters holding it (红星 of 红星路鑫源花园), or None."""
    if len(a) != len(b):
        return None
    i = next(i for i in range(len(a)) if a[i] != b[i])
    start, end = i, i + 1
    while start > 0 and not (ma[start - 1] or mb[start - 1]):
        start -= 1
    while end < len(a) and not (ma[end] or mb[end]):
        end += 1
    if end - start < 2:
        return None
    return slips.judge(a[start:end], b[start:end], i - start)


def _distinctive_edits(a: str, ma: tuple[bool, ...], b: str, mb: tuple[bool, ...]) -> int:
    hits = 0
    for op in Levenshtein.editops(a, b):
        if op.tag == "insert":
            hits += not mb[op.dest_pos]
        elif op.tag == "delete":
            hits += not ma[op.src_pos]
        else:
            hits += not (ma[op.src_pos] or mb[op.dest_pos])
    return hits


def score_project_names(a: str, b: str) -> NameScore:
    """How likely two project names name the same project (0-1), and why."""
    return _score(a, b, enterprise=False)


def score_enterprise_names(a: str, b: str) -> NameScore:
    """How likely two enterprise names name the same enterprise (0-1), and why."""
    return _score(a, b, enterprise=True)


def best_match(
    name: str,
    candidates: Mapping[str, str],
    *,
    enterprise: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[str, NameScore] | None:
    """The candidate (id -> name, already blocked by division and employer) that best matches
    name at or above threshold; ties go to the smallest id so that the answer is stable."""
    scored = sorted(
        ((key, _score(name, other, enterprise)) for key, other in candidates.items()),
        key=lambda item: (-item[1].score, item[0]),
    )
    if scored and is_match(scored[0][1], threshold):
        return scored[0]
    return None
