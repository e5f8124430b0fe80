"""Grouped cross-validation of the whole input check (patterns + compose rules + classifier).

Honest figures need folds that a model cannot cheat across:
- every JADE subcategory sits wholly in one fold (a test fold holds kinds of harm the model never saw);
- near-duplicate phrasings never sit on both sides: texts whose character 2–3-gram TF-IDF cosine exceeds
  `dup_threshold` are clustered (connected components) and a cluster is one group; any training row that is
  a near duplicate of a test row is purged from that fold's training data (this is what keeps a paraphrase
  in another subcategory from leaking, without merging whole subcategories into one giant group);
- per-domain thresholds are calibrated inside each training fold (an inner cross-validation over the
  training rows only), never on the rows they are scored on.

A prompt without a domain (the harmful rows) counts as refused only if every built-in domain refuses it;
a benign question is checked in its own domain. The pattern layer needs no training, so its verdict is
computed once per (row, domain); the classifier verdict comes from the fold's model and threshold.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from safety.classifier import BENIGN, LinearTextClassifier, fit, prepare
from safety.training_data import Row

DOMAINS = ("legal", "medical")


@dataclass
class Options:
    """Model and calibration options (the shipped artifact records the ones it was built with)."""

    ngram_max: int = 3
    word_ngram_max: int = 2
    c: float = 10.0
    min_df: int = 1
    # Per domain, classifier layer alone, over every benign row: the dev sets AND our look-alikes, which are
    # written to be hard (贩毒会判几年, 如何正确测量血压). 1 % is issue 11's bound. At 0.5 %, adding 80 everyday
    # how-to look-alikes moved the legal threshold 0.845 -> 0.891 and cost 4 points of refusal recall.
    target_false_refusal: float = 0.01
    # Floor: below 0.8 the model refused benign look-alikes in the older hand-written held-out sets
    # (tests/safety/data), which no calibration row resembles closely — chosen before the final CV run.
    min_threshold: float = 0.8
    max_threshold: float = 0.95


@dataclass
class CVResult:
    """Out-of-fold scores and decisions of every evaluated row."""

    rows: list[Row]
    p_harm: np.ndarray  # out-of-fold P(harmful); NaN for training-only rows
    category: list[str]
    refused: np.ndarray  # bool, whole input check (patterns or classifier)
    refused_by_patterns: np.ndarray
    thresholds: list[dict[str, float]] = field(default_factory=list)  # per fold
    seconds: float = 0.0


def near_duplicate_clusters(texts: Sequence[str], threshold: float = 0.5):  # noqa: ANN201
    """(cluster id per text, sparse boolean near-duplicate matrix) at char 2–3-gram cosine > threshold."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True).fit_transform(
        [prepare(t) for t in texts]
    )
    sim = (x @ x.T).tocsr()
    dup = sim > threshold
    _, comp = connected_components(dup, directed=False)
    return comp, dup.tocsr()


def _groups(rows: Sequence[Row], comp: np.ndarray) -> np.ndarray:
    return np.array([r.group or f"dup:{comp[i]}" for i, r in enumerate(rows)])


def classifier_guards(policy_for: Callable[[str], object] | None = None) -> dict[str, Callable[[str], bool]]:
    """domain → "the classifier may not refuse this text" (the policy's informational guard for it)."""
    from safety.policy import load_policy
    from safety.rules import compile_guard

    out: dict[str, Callable[[str], bool]] = {}
    for d in DOMAINS:
        cfg = (policy_for or load_policy)(d).config  # type: ignore[attr-defined]
        guard = compile_guard(cfg.informational, for_classifier=True)
        out[d] = guard.excuses if guard is not None else (lambda _t: False)
    return out


def calibrate(
    p_harm: np.ndarray,
    rows: Sequence[Row],
    opts: Options,
    domains: Sequence[str] = DOMAINS,
    guards: dict[str, Callable[[str], bool]] | None = None,
) -> dict[str, float]:
    """Per domain, the lowest threshold whose false-refusal rate on that domain's benign rows is within
    target (clamped to [min_threshold, max_threshold]); "default" is the strictest of them. A row the
    domain's guard excuses can never be refused by the classifier and counts as allowed."""
    out: dict[str, float] = {}
    for d in domains:
        excused = guards[d] if guards else (lambda _t: False)
        scores = np.sort(
            np.array(
                [
                    0.0 if excused(r.text) else p
                    for p, r in zip(p_harm, rows, strict=True)
                    if not r.harmful and r.domain in (d, None)
                ]
            )
        )
        scores = scores[~np.isnan(scores)]
        if len(scores) == 0:
            out[d] = opts.max_threshold
            continue
        allowed = int(np.floor(opts.target_false_refusal * len(scores)))
        # refusing when p >= t: t just above the (allowed+1)-th highest benign score
        t = float(scores[len(scores) - allowed - 1]) + 1e-6
        out[d] = float(min(opts.max_threshold, max(opts.min_threshold, t)))
    out["default"] = max(out.values()) if out else opts.max_threshold
    return out


def _fit(rows: Sequence[Row], idx: np.ndarray, opts: Options) -> LinearTextClassifier:
    return fit(
        [rows[i].text for i in idx],
        [rows[i].label for i in idx],
        ngram_max=opts.ngram_max,
        word_ngram_max=opts.word_ngram_max,
        c=opts.c,
        min_df=opts.min_df,
    )


def _score(model: LinearTextClassifier, rows: Sequence[Row], idx: np.ndarray) -> tuple[np.ndarray, list[str]]:
    preds = [model.predict(rows[i].text) for i in idx]
    return np.array([p.p_harm for p in preds]), [p.category for p in preds]


def _folds(groups: np.ndarray, evaluate: np.ndarray, k: int) -> list[np.ndarray]:
    """Test indices of k folds over the evaluated rows, whole groups per fold (largest groups first)."""
    from sklearn.model_selection import GroupKFold

    ev = np.where(evaluate)[0]
    return [ev[te] for _, te in GroupKFold(n_splits=k).split(ev, groups=groups[ev])]


def out_of_fold(
    rows: Sequence[Row],
    opts: Options,
    *,
    folds: int = 5,
    dup_threshold: float = 0.5,
    train_mask: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Out-of-fold P(harmful)/category for evaluated rows (within `train_mask` when given).

    Returns (p_harm, category, test-fold id per row, cluster ids)."""
    n = len(rows)
    mask = np.ones(n, dtype=bool) if train_mask is None else train_mask
    comp, dup = near_duplicate_clusters([r.text for r in rows], dup_threshold)
    groups = _groups(rows, comp)
    evaluate = np.array([r.evaluate for r in rows]) & mask
    p = np.full(n, np.nan)
    cats = [""] * n
    fold_of = np.full(n, -1)
    for k, test in enumerate(_folds(groups, evaluate, folds)):
        train = np.setdiff1d(np.where(mask)[0], test)
        near = np.asarray(dup[test][:, train].sum(axis=0)).ravel() > 0
        train = train[~near]  # purge near duplicates of any test row
        model = _fit(rows, train, opts)
        p[test], fold_cats = _score(model, rows, test)
        for i, c in zip(test, fold_cats, strict=True):
            cats[i] = c
        fold_of[test] = k
        if progress:
            progress(f"fold {k + 1}/{folds}: trained on {len(train)}, scored {len(test)}")
    return p, cats, fold_of, comp


def pattern_verdicts(rows: Sequence[Row], policy_for: Callable[[str], object]) -> dict[str, np.ndarray]:
    """domain → bool array: does the pattern/compose layer (everything but the classifier) refuse the row?"""
    from safety.rules import ClassifierRule
    from safety.types import Question

    out: dict[str, np.ndarray] = {}
    for d in DOMAINS:
        policy = policy_for(d)
        rules = [r for r in policy.rules if not isinstance(r, ClassifierRule)]  # type: ignore[attr-defined]
        out[d] = np.array(
            [
                any(r.check_input(Question(text=row.text, domain=d)).action == "refuse" for r in rules)
                for row in rows
            ]
        )
    return out


def cross_validate(
    rows: Sequence[Row],
    opts: Options | None = None,
    *,
    folds: int = 5,
    inner_folds: int = 3,
    dup_threshold: float = 0.5,
    policy_for: Callable[[str], object] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CVResult:
    """Nested grouped cross-validation of the whole input check (see the module docstring).

    The classifier is kept from refusing what the policy's informational guard excuses, as in production."""
    from safety.policy import load_policy

    opts = opts or Options()
    policy_for = policy_for or load_policy
    t0 = time.perf_counter()
    rows = list(rows)
    n = len(rows)
    p, cats, fold_of, _ = out_of_fold(rows, opts, folds=folds, dup_threshold=dup_threshold, progress=progress)
    patterns = pattern_verdicts(rows, policy_for)
    guards = classifier_guards(policy_for)
    refused = np.zeros(n, dtype=bool)
    by_patterns = np.zeros(n, dtype=bool)
    thresholds: list[dict[str, float]] = []
    for k in range(folds):
        test = np.where(fold_of == k)[0]
        train_mask = np.ones(n, dtype=bool)
        train_mask[test] = False
        if inner_folds > 1:
            inner_p, _, _, _ = out_of_fold(
                rows, opts, folds=inner_folds, dup_threshold=dup_threshold, train_mask=train_mask
            )
            th = calibrate(inner_p, rows, opts, guards=guards)
        else:
            th = {d: opts.min_threshold for d in (*DOMAINS, "default")}
        thresholds.append(th)
        if progress:
            progress(f"fold {k + 1}/{folds}: thresholds {', '.join(f'{d} {v:.3f}' for d, v in th.items())}")
        for i in test:
            domains = [rows[i].domain] if rows[i].domain else list(DOMAINS)
            per = []
            for d in domains:
                pat = bool(patterns[d][i])
                clf = bool(p[i] >= th[d]) and not guards[d](rows[i].text)
                per.append(pat or clf)
            refused[i] = all(per)
            by_patterns[i] = all(bool(patterns[d][i]) for d in domains)
    return CVResult(
        rows=rows,
        p_harm=p,
        category=cats,
        refused=refused,
        refused_by_patterns=by_patterns,
        thresholds=thresholds,
        seconds=time.perf_counter() - t0,
    )


def summarise(result: CVResult) -> dict:
    """Figures of a CVResult: recall per JADE category, false refusals per benign source, confusion table."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    tp = fn = fp = tn = 0
    for i, r in enumerate(result.rows):
        if not r.evaluate or np.isnan(result.p_harm[i]):
            continue
        ref = bool(result.refused[i])
        per[r.report][0] += ref
        per[r.report][1] += 1
        if r.harmful:
            tp, fn = tp + ref, fn + (not ref)
        else:
            fp, tn = fp + ref, tn + (not ref)
    harmful = {k: v for k, v in per.items() if not k.startswith("benign:")}
    benign = {k: v for k, v in per.items() if k.startswith("benign:")}
    return {
        "refusal_recall": round(tp / max(1, tp + fn), 4),
        "false_refusal_rate": round(fp / max(1, fp + tn), 4),
        "recall_per_category": {
            k: {"refused": a, "n": b, "recall": round(a / b, 4)} for k, (a, b) in sorted(harmful.items())
        },
        "false_refusals_per_source": {
            k: {"refused": a, "n": b, "rate": round(a / b, 4)} for k, (a, b) in sorted(benign.items())
        },
        "confusion": {
            "harmful_refused": tp,
            "harmful_allowed": fn,
            "benign_refused": fp,
            "benign_allowed": tn,
        },
        "thresholds_per_fold": result.thresholds,
        "seconds": round(result.seconds, 1),
    }


__all__ = [
    "BENIGN",
    "CVResult",
    "Options",
    "calibrate",
    "classifier_guards",
    "cross_validate",
    "near_duplicate_clusters",
    "out_of_fold",
    "pattern_verdicts",
    "summarise",
]
