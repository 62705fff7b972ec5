"""Name matching when identifiers are missing: the scorer's behaviours and its quality gate."""

from __future__ import annotations

import pytest

from enrollment.matching.name_match import (
    DEFAULT_THRESHOLD,
    NameScore,
    best_match,
    is_match,
    score_enterprise_names,
    score_project_names,
)
from enrollment.matching.names import name_key
from hubtools.name_eval import best_threshold, by_kind, evaluate, matcher_score, plain_ratio
from hubtools.namegen import NamePair, generate_pairs


def project_match(a: str, b: str) -> bool:
    return is_match(score_project_names(a, b))


def enterprise_match(a: str, b: str) -> bool:
    return is_match(score_enterprise_names(a, b))


# --- numbers decide: another building, phase, section or school is another project ---


def test_another_building_number_is_vetoed_although_the_text_is_nearly_equal() -> None:
    score = score_project_names("任城区古槐路鑫源住宅小区3#楼", "任城区古槐路鑫源住宅小区5#楼")
    assert score.score == 0.0
    assert "编号不一致" in score.reason
    assert "vetoed" in score.reason


@pytest.mark.parametrize("written", ["3号楼", "3#", "3栋", "３＃楼", "三号楼", "3楼"])
def test_one_building_written_in_any_notation_matches(written: str) -> None:
    assert project_match("古槐路鑫源住宅小区3#楼", f"古槐路鑫源住宅小区{written}")


def test_another_phase_is_vetoed_and_chinese_and_arabic_numerals_agree() -> None:
    assert score_project_names("鑫源住宅小区一期", "鑫源住宅小区二期").score == 0.0
    assert project_match("鑫源住宅小区三期", "鑫源住宅小区（3期）")


def test_numbered_plots_sections_and_schools_are_vetoed_when_they_differ() -> None:
    assert score_project_names("红星路安置房1号", "红星路安置房2号").score == 0.0
    assert score_project_names("运河路道路改造一标段", "运河路道路改造第二标段").score == 0.0
    assert score_project_names("嘉祥县第三中学教学楼", "嘉祥县第五中学教学楼").score == 0.0
    assert project_match("运河路道路改造第二标段", "运河路道路改造2标段")


def test_a_name_that_drops_the_phase_or_building_is_not_accepted() -> None:
    assert not project_match("鑫源住宅小区二期", "鑫源住宅小区")
    # the 九 of 九龙路 is a place name, not the missing building 9
    assert not project_match("九龙路盛都商业广场(四期)9#楼", "九龙路盛都商业广场（4期）")


def test_a_unit_lost_to_a_typo_keeps_its_number() -> None:
    assert project_match("梁山第七中学实验楼二期", "梁山第七学中实验楼二期")


def test_series_companies_with_other_numbers_are_vetoed() -> None:
    assert score_enterprise_names("中建八局第一建设有限公司", "中建三局第一建设有限公司").score == 0


# --- what is ignored: regions, legal and project suffixes, widths, brackets, spacing ---


def test_region_prefixes_and_legal_suffixes_are_ignored() -> None:
    assert enterprise_match("山东鲁班建设集团有限公司", "鲁班建设有限责任公司")
    assert enterprise_match("济宁市宏达建筑工程有限公司", "山东省济宁市宏达建筑工程股份有限公司")
    assert project_match("山东省济宁市任城区古槐路鑫源住宅小区", "古槐路鑫源住宅小区建设项目")
    assert project_match("嘉祥县运河路道路改造工程", "嘉祥运河路道路改造项目")


def test_a_region_after_the_trade_name_in_brackets_is_ignored() -> None:
    assert enterprise_match("鲁班（济宁）建设有限公司", "济宁鲁班建设有限公司")


def test_full_width_forms_brackets_and_spaces_are_folded() -> None:
    score = score_project_names("鑫源住宅小区（二期）１２＃楼", "鑫源住宅小区 (二期) 12#楼")
    assert score == NameScore(1.0, "项目名称归一化后相同 (normalised names equal)")
    assert enterprise_match("山东鲁班建设（集团）有限公司", "山东鲁班建设(集团)有限公司")


def test_word_order_swaps_are_tolerated() -> None:
    assert project_match("鑫源住宅小区（古槐路）", "古槐路鑫源住宅小区")
    assert project_match("鑫源住宅小区3#楼二期", "鑫源住宅小区二期3#楼")


def test_counties_that_differ_are_vetoed() -> None:
    score = score_project_names("任城区古槐路鑫源住宅小区", "兖州区古槐路鑫源住宅小区")
    assert score.score == 0.0
    assert "县区不同" in score.reason


# --- typos ---


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("古槐路鑫源住宅小区", "古槐路鑫源住宅小曲"),  # substituted, inside a common word
        ("泰润环境工程有限公司", "泰润环境程有限公司"),  # missing, inside the industry
        ("宏达昌建筑有限公司", "达宏昌建筑有限公司"),  # transposed, in the trade name
        ("古槐路鑫源住宅小区", "古槐鑫源住宅小区"),  # missing 路
        ("唐口街道鑫安片区棚户区改造", "唐口街道鑫片区棚户区改造"),  # missing, long name
        ("济宁市金乡县宏达煤炭有限公司", "济宁市金县乡宏达煤炭有限公司"),  # swap in a county
        ("鲁班建设有限公司", "鲁班建设有限责任司公"),  # swap in the legal form
    ],
)
def test_a_one_character_typo_is_tolerated(a: str, b: str) -> None:
    scorer = score_enterprise_names if "公司" in a else score_project_names
    assert is_match(scorer(a, b)), scorer(a, b)


def test_a_one_character_difference_in_a_short_name_is_not_a_typo() -> None:
    """鑫源 and 鑫达 are two estates, 宏达 and 宏远 two companies: no text can tell them from a
    typo, so a short distinctive part of another sound must agree."""
    assert not project_match("古槐路鑫源住宅小区", "古槐路鑫达住宅小区")
    assert not enterprise_match("宏达建筑工程有限公司", "宏远建筑工程有限公司")
    assert not enterprise_match("嘉祥县宏达昌建筑有限公司", "嘉祥县宏达建筑有限公司")


# --- how people type: traditional characters, full-width letters, input-method slips ---


def test_traditional_characters_and_full_width_letters_are_folded() -> None:
    assert name_key("濟寧市任城區運河花園３號樓") == "任城区运河花园3号楼"
    assert name_key("运河花园ＡＢ区") == "运河花园ab区"
    score = score_project_names("任城区运河花园3号楼", "任城區運河花園3號樓")
    assert score.score == 1.0


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        ("红星路鑫源花园3号楼", "红和路鑫源花园3号楼", "红星是济宁地名"),  # another sound
        ("济安桥路鑫源花园3号楼", "济和桥路鑫源花园3号楼", "济安桥是济宁地名"),
        ("济安花园3号楼", "济和花园3号楼", "济安是济宁地名"),
        ("运河花园3号楼", "运和花园3号楼", "同音"),  # the same sound
        ("古槐路鑫源住宅小区", "古槐路鑫苑住宅小区", "同音"),
        ("文化路绿化提升", "文华路绿化提升", "同音"),
    ],
)
def test_a_one_character_slip_in_a_place_name_is_accepted_and_explained(
    a: str, b: str, why: str
) -> None:
    score = score_project_names(a, b)
    assert is_match(score), score
    assert why in score.reason and "slip" in score.reason


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("运河花园3号楼", "运通花园3号楼"),  # two known names: sibling estates
        ("南张街道棚户区改造", "南苑街道棚户区改造"),  # two streets of Jining
        ("洸河路道路改造", "运河路道路改造"),  # two roads, one sound apart
        ("红星花园3号楼", "红星花园13号楼"),  # the vetoes still hold
        ("红和花园3号楼", "红星花园13号楼"),
        ("红和花园A区", "红星花园B区"),
        ("红和路DK3", "红星路DK4"),
        ("红和路鑫源花园一期", "红星路鑫源花园二期"),
    ],
)
def test_another_name_or_number_is_not_taken_for_a_slip(a: str, b: str) -> None:
    assert not project_match(a, b), score_project_names(a, b)


def test_enterprise_trade_names_get_no_slip_tolerance() -> None:
    assert not enterprise_match("鑫源建筑工程有限公司", "鑫苑建筑工程有限公司")


# --- confusers ---


def test_sibling_companies_are_rejected() -> None:
    score = score_enterprise_names("山东鲁班建设集团有限公司", "山东鲁班建工集团有限公司")
    assert score.score == 0.0
    assert "sibling companies" in score.reason
    assert not enterprise_match("鲁班建筑有限公司", "鲁班建筑工程有限公司")


def test_a_branch_is_not_its_head_office() -> None:
    assert not enterprise_match("鲁班建设集团有限公司济宁分公司", "鲁班建设集团有限公司")


def test_another_kind_of_project_on_the_same_road_is_rejected() -> None:
    assert score_project_names("古槐路鑫源住宅小区", "古槐路鑫源商业综合体").score == 0.0
    assert score_project_names("第三中学教学楼", "第三中学综合楼").score == 0.0
    assert score_project_names("建设东路道路改造", "建设路道路改造").score == 0.0


# --- the API ---


def test_score_is_between_zero_and_one_with_a_chinese_and_english_reason() -> None:
    for a, b in [
        ("古槐路鑫源住宅小区", "古槐路鑫苑住宅小区"),
        ("古槐路鑫源小区", "红星路华府酒店"),
    ]:
        score = score_project_names(a, b)
        assert 0.0 <= score.score <= 1.0
        chinese, english = score.reason.split(" (", 1)
        assert any("\u4e00" <= c <= "\u9fff" for c in chinese)
        assert english.isascii()


def test_is_match_applies_the_threshold_at_or_above() -> None:
    assert is_match(NameScore(DEFAULT_THRESHOLD, ""))
    assert not is_match(NameScore(0.84, ""), threshold=0.85)
    assert is_match(0.84, threshold=0.8)


def test_best_match_picks_the_best_candidate_above_the_threshold_only() -> None:
    candidates = {"e1": "古槐路鑫源住宅小区5#楼", "e2": "古槐路鑫源住宅小区３号楼项目"}
    best = best_match("济宁市古槐路鑫源住宅小区3#楼", candidates)
    assert best is not None
    assert best[0] == "e2"
    assert best_match("古槐路鑫源住宅小区3#楼", {"e1": "古槐路鑫源住宅小区5#楼"}) is None


def test_name_key_is_unchanged() -> None:
    assert name_key("山东省济宁市（任城区）鲁班建设集团有限公司") == "任城区鲁班建设"
    assert name_key(" 济宁市古槐路鑫源住宅小区　３＃楼 ") == "古槐路鑫源住宅小区3#楼"
    assert name_key("鲁班建设（集团）股份有限公司") == "鲁班建设"


# --- the labelled set and the quality gate ---


@pytest.fixture(scope="module")
def pairs() -> list[NamePair]:
    return generate_pairs(10_000)


def test_the_generator_is_deterministic_balanced_and_covers_every_kind(
    pairs: list[NamePair],
) -> None:
    assert pairs[:50] == generate_pairs(50)
    assert len(pairs) == 10_000
    assert sum(p.same for p in pairs) == 5_000
    kinds = {p.kind for p in pairs}
    for kind in ("project.building", "project.phase", "enterprise.sibling", "project.typo_missing"):
        assert kind in kinds
    assert all(p.a != p.b for p in pairs)


def test_matcher_reaches_precision_099_at_recall_095_on_10000_labelled_pairs(
    pairs: list[NamePair],
) -> None:
    result = evaluate(pairs, DEFAULT_THRESHOLD)
    assert result["precision"] >= 0.99, result
    assert result["recall"] >= 0.95, result


# Positive kinds below the 0.95 target at seed 64, and the floor each must keep: a one-character
# change of another sound in an unknown name (鑫源, 鑫达; a trade name) cannot be told from
# another estate or company, so no threshold raises these without letting confusers in.
SHORTFALLS = {
    "project.slip_other_sound": 0.73,
    "project.typo_substituted": 0.87,
    "project.typo_missing": 0.92,
    "project.typo_transposed": 0.94,
    "enterprise.typo_substituted": 0.70,
    "enterprise.typo_missing": 0.70,
    "enterprise.typo_transposed": 0.91,
}


def test_every_kind_keeps_its_figures_on_the_fixed_seed_set(pairs: list[NamePair]) -> None:
    rows = by_kind(pairs, [matcher_score(p) for p in pairs], DEFAULT_THRESHOLD)
    for kind in ("project.traditional", "project.slip_same_sound", "project.sibling_estate"):
        assert kind in rows
    for kind in ("project.prefix_digit", "project.slip_other_sound", "enterprise.traditional"):
        assert kind in rows
    for kind, row in rows.items():
        if row["same"]:
            assert row["recall"] >= SHORTFALLS.get(kind, 0.95), (kind, row)
        else:
            assert row["precision"] >= 0.995, (kind, row)


def test_plain_fuzzy_ratio_cannot_pass_the_gate_on_the_same_set(pairs: list[NamePair]) -> None:
    """The set is hard: rapidfuzz's ratio at its best threshold stays far from the gate."""
    baseline = best_threshold(pairs, [plain_ratio(p) for p in pairs])
    assert baseline["precision"] < 0.9
    assert baseline["fp_by_kind"]["project.building"] > 0
