"""`python -m hubtools.name_eval [--pairs N] [--threshold T] [--seed S]`: how well the name
matcher separates the labelled pairs of `hubtools.namegen`.

Prints precision, recall and F1 at the threshold, then per category (kind of pair): recall for a
kind of positive (a variation of one name), the share rejected for a kind of confuser and the
precision left once its false positives are counted against every true positive; a threshold
sweep, and for comparison a plain `rapidfuzz.fuzz.ratio` on the raw names at its
own best threshold.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from rapidfuzz import fuzz

from enrollment.matching.name_match import (
    DEFAULT_THRESHOLD,
    score_enterprise_names,
    score_project_names,
)
from enrollment.matching.names import name_key
from hubtools.namegen import NamePair, generate_pairs

Scorer = Callable[[NamePair], float]
SWEEP = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)


def matcher_score(pair: NamePair) -> float:
    scorer = score_enterprise_names if pair.kind.startswith("enterprise.") else score_project_names
    return scorer(pair.a, pair.b).score


def plain_ratio(pair: NamePair) -> float:
    """The naive baseline: rapidfuzz's ratio on the names as written, scaled to 0-1."""
    return fuzz.ratio(pair.a, pair.b) / 100


def key_ratio(pair: NamePair) -> float:
    """A second baseline: the ratio on the stored keys (folded, regions and suffixes dropped)."""
    return fuzz.ratio(name_key(pair.a), name_key(pair.b)) / 100


def _metrics(labels: Sequence[bool], predicted: Sequence[bool]) -> dict[str, float]:
    tp = sum(1 for y, p in zip(labels, predicted, strict=True) if y and p)
    fp = sum(1 for y, p in zip(labels, predicted, strict=True) if not y and p)
    fn = sum(1 for y, p in zip(labels, predicted, strict=True) if y and not p)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def evaluate(
    pairs: Sequence[NamePair],
    threshold: float = DEFAULT_THRESHOLD,
    scorer: Scorer = matcher_score,
    scores: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Precision, recall, F1, counts, and false positives / negatives by kind at threshold."""
    scores = [scorer(p) for p in pairs] if scores is None else scores
    predicted = [s >= threshold for s in scores]
    result: dict[str, Any] = _metrics([p.same for p in pairs], predicted)
    result["threshold"] = threshold
    result["fp_by_kind"] = Counter(
        p.kind for p, m in zip(pairs, predicted, strict=True) if m and not p.same
    )
    result["fn_by_kind"] = Counter(
        p.kind for p, m in zip(pairs, predicted, strict=True) if p.same and not m
    )
    result["pairs"] = len(pairs)
    return result


def by_kind(
    pairs: Sequence[NamePair], scores: Sequence[float], threshold: float = DEFAULT_THRESHOLD
) -> dict[str, dict[str, Any]]:
    """Per kind: pairs, accepted, and recall (positives) or rejected share and the precision its
    false positives alone leave against all true positives (confusers)."""
    accepted = [s >= threshold for s in scores]
    tp = sum(1 for p, a in zip(pairs, accepted, strict=True) if p.same and a)
    rows: dict[str, dict[str, Any]] = {}
    for kind in sorted({p.kind for p in pairs}):
        hits = [a for p, a in zip(pairs, accepted, strict=True) if p.kind == kind]
        same = next(p.same for p in pairs if p.kind == kind)
        row: dict[str, Any] = {"same": same, "pairs": len(hits), "accepted": sum(hits)}
        if same:
            row["recall"] = sum(hits) / len(hits)
        else:
            row["rejected"] = 1 - sum(hits) / len(hits)
            row["precision"] = tp / (tp + sum(hits)) if tp + sum(hits) else 1.0
        rows[kind] = row
    return rows


def _kind_table(rows: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'kind':32} {'label':9} {'pairs':>5} {'accepted':>8} {'recall':>7} {'rejected':>8}"]
    lines[0] += f" {'precision':>9}"
    for kind, r in sorted(rows.items(), key=lambda item: (not item[1]["same"], item[0])):
        recall = f"{r['recall']:.3f}" if r["same"] else ""
        rejected = "" if r["same"] else f"{r['rejected']:.3f}"
        precision = "" if r["same"] else f"{r['precision']:.4f}"
        label = "same" if r["same"] else "different"
        lines.append(
            f"{kind:32} {label:9} {r['pairs']:>5} {r['accepted']:>8} {recall:>7} {rejected:>8}"
            f" {precision:>9}"
        )
    return "\n".join(lines)


def sweep(
    pairs: Sequence[NamePair], scores: Sequence[float], thresholds: Sequence[float] = SWEEP
) -> list[dict[str, Any]]:
    return [evaluate(pairs, t, scores=scores) for t in thresholds]


def best_threshold(pairs: Sequence[NamePair], scores: Sequence[float]) -> dict[str, Any]:
    """The threshold (over every distinct score) with the best F1."""
    candidates = sorted(set(scores))
    return max((evaluate(pairs, t, scores=scores) for t in candidates), key=lambda r: r["f1"])


def _row(r: dict[str, Any]) -> str:
    return (
        f"{r['threshold']:>9.3f} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['f1']:>7.4f}"
        f" {r['tp']:>6} {r['fp']:>5} {r['fn']:>5}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hubtools.name_eval", description=__doc__)
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--seed", type=int, default=64)
    parser.add_argument(
        "--typo-weight", type=int, default=1, help="3: typos weigh three variations, not one"
    )
    args = parser.parse_args(argv)
    pairs = generate_pairs(args.pairs, seed=args.seed, typo_weight=args.typo_weight)
    scores = [matcher_score(p) for p in pairs]
    result = evaluate(pairs, args.threshold, scores=scores)
    positives = sum(p.same for p in pairs)
    negatives = len(pairs) - positives
    print(f"{len(pairs)} pairs ({positives} same, {negatives} different), seed {args.seed}")
    print(
        f"matcher at {args.threshold}: precision {result['precision']:.4f}"
        f"  recall {result['recall']:.4f}  F1 {result['f1']:.4f}"
        f"  (TP {result['tp']}, FP {result['fp']}, FN {result['fn']})"
    )
    for label in ("fp_by_kind", "fn_by_kind"):
        counts = ", ".join(f"{k} {n}" for k, n in result[label].most_common()) or "none"
        print(f"  {label.replace('_by_kind', '').upper()} by kind: {counts}")
    typos = [(p, s) for p, s in zip(pairs, scores, strict=True) if ".typo_" in p.kind]
    if typos:
        found = sum(s >= args.threshold for _, s in typos)
        print(f"  recall on the {len(typos)} typo pairs alone: {found / len(typos):.4f}")
    print(
        f"\nper category at {args.threshold}\n"
        + _kind_table(by_kind(pairs, scores, args.threshold))
    )
    header = (
        f"{'threshold':>9} {'precision':>9} {'recall':>7} {'F1':>7} {'TP':>6} {'FP':>5} {'FN':>5}"
    )
    print("\nthreshold sweep (matcher)\n" + header)
    for row in sweep(pairs, scores):
        print(_row(row))
    for title, scorer in (
        ("rapidfuzz.fuzz.ratio on the raw names", plain_ratio),
        ("fuzz.ratio on name_key(a), name_key(b)", key_ratio),
    ):
        baseline = [scorer(p) for p in pairs]
        best = best_threshold(pairs, baseline)
        print(f"\nbaseline: {title}, at its best-F1 threshold\n{header}\n{_row(best)}")
        for label in ("fp_by_kind", "fn_by_kind"):
            counts = ", ".join(f"{k} {n}" for k, n in best[label].most_common(6))
            print(f"  {label.replace('_by_kind', '').upper()} by kind (top 6): {counts}")
        rows = sweep(pairs, baseline, [i / 100 for i in range(50, 101)])
        usable = [r for r in rows if r["precision"] >= 0.99 and r["tp"]]
        if usable:
            r = max(usable, key=lambda r: r["recall"])
            print(f"  best recall at precision >= 0.99: {r['recall']:.4f} at {r['threshold']}")
        else:
            print("  precision never reaches 0.99 at any threshold")


if __name__ == "__main__":
    main()
