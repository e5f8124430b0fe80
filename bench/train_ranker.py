"""Train the learned ranker's profiles on the dev sets, with k-fold cross-validation by question, and print
the ablation table (each feature group on/off: hit@1/hit@5/hit@10/MRR per task).

Run (on a full-corpus data dir: laws + guidelines):
  .venv/bin/python bench/train_ranker.py --home DIR [--folds 5] [--write]
`--write` stores the profiles trained on ALL dev questions in knowledge/ranker_weights.json (what ships).
Every figure printed is cross-validated (trained on the other folds, scored on the held-out fold) except the
"hand-set fusion" rows, which learn nothing. Candidates are collected once through the real
`KnowledgeBase.retrieve` (the features do not depend on the weights), then re-ranked offline per fold.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.home import apply_offline_env  # noqa: E402

apply_offline_env()

from knowledge.ranking import FEATURES, KINDS, WEIGHTS_FILE, Profile  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
# profile -> (dev set, tasks used, domain filter the retrieval runs with)
PROFILES = {
    "legal": (SHARED / "legal_dev.jsonl", {"lawbench-3-2"}, None),
    "medical": (SHARED / "medical_dev.jsonl", None, "medical"),
}
KIND_FEATURES = tuple(f"kind_{k}" for k in KINDS)
# `--with-own`: our own everyday sets (tests/quality/, each with the article or section to cite) join the training
# data of the profile of their domain — the only statute-gold questions the medical profile can learn from.
OWN_SETS = {
    "legal": ROOT / "tests" / "quality" / "legal_everyday.jsonl",
    "medical": ROOT / "tests" / "quality" / "medical_everyday.jsonl",
}
# The medical profile must not learn "statutes never answer" from a set whose gold is all guidelines:
# clinic questions (病历保存, 多点执业) are answered by 医师法 / 药品管理法.
PROFILE_DROPS = {"medical": KIND_FEATURES}
GROUPS = {
    "source kind (法律 > 行政法规 > 司法解释)": KIND_FEATURES,
    "heading field": ("heading_bm25",),
    "law-level score": ("law_best",),
    "bigram coverage": ("coverage", "focus_coverage"),
    "dense cosine": ("dense",),
    "length + purpose clause": ("log_length", "purpose_clause"),
    "gaps to the question's best candidate": ("dense_gap", "coverage_gap", "focus_gap"),
}


class Recorder:
    """Stands in for a profile: records every candidate's features, ranks by the hand-set fusion."""

    def __init__(self) -> None:
        self.pos: np.ndarray | None = None
        self.x: np.ndarray | None = None

    def record(self, pos: np.ndarray, x: np.ndarray) -> None:
        self.pos, self.x = pos, x

    def score(self, x: np.ndarray) -> np.ndarray:
        return x[:, FEATURES.index("fused")]


def collect(kb, items, domain: str | None, expand=None) -> list[dict]:
    """Per question: candidate features X, relevance y, task (`expand`: the domain's synonym expansion,
    applied as the pipeline applies it)."""
    from knowledge import retrieval
    from knowledge.evaluation import gold_article_texts, is_relevant
    from knowledge.manifest import row_to_passage

    snap = kb.snapshot()
    rec = Recorder()
    texts = gold_article_texts(kb, items)
    original = retrieval.ranker_profile
    retrieval.ranker_profile = lambda _kb, _name: rec
    out = []
    try:
        for it in items:
            rec.pos = rec.x = None
            kb.retrieve(expand(it.question) if expand else it.question, k=10, domain=domain)
            if rec.x is None:
                continue
            rows = kb.manifest.articles_by_ids([snap.ids[p] for p in rec.pos])
            passages = [row_to_passage(rows[snap.ids[p]]) for p in rec.pos.tolist()]
            y = np.array([is_relevant(p, it.gold) for p in passages], dtype=bool)
            # also relevant: the gold article's text under the number the newest version gave it
            y_renumbered = np.array([is_relevant(p, it.gold, texts) for p in passages], dtype=bool)
            out.append({"task": it.task, "X": rec.x, "y": y, "y_renumbered": y_renumbered})
    finally:
        retrieval.ranker_profile = original
    return out


def fit(groups: Sequence[dict], features: Sequence[str], name: str, c: float = 1.0) -> Profile:
    """Logistic regression on standardised features (positives: relevant candidates)."""
    from sklearn.linear_model import LogisticRegression

    cols = [FEATURES.index(f) for f in features]
    x = np.vstack([g["X"][:, cols] for g in groups]).astype(np.float64)
    y = np.concatenate([g["y_renumbered"] for g in groups])  # renumbered gold is not label noise
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y)
    return Profile(name, tuple(features), mean, scale, model.coef_[0], float(model.intercept_[0]))


def figures(groups: Sequence[dict], scores: Sequence[np.ndarray]) -> dict[str, dict[str, float]]:
    """Per task: strict figures, plus `r-hit@5` counting renumbered gold articles (statute sets)."""
    per: dict[str, list[int | None]] = {}
    per_r: dict[str, list[int | None]] = {}
    for g, s in zip(groups, scores, strict=True):
        order = np.argsort(-s, kind="stable")
        for key, into in (("y", per), ("y_renumbered", per_r)):
            hits = np.nonzero(g[key][order])[0]
            into.setdefault(g["task"], []).append(int(hits[0]) + 1 if len(hits) else None)
    out = {}
    for task, ranks in sorted(per.items()):
        n = len(ranks)
        row = {f"hit@{c}": sum(1 for r in ranks if r and r <= c) / n for c in (1, 5, 10)}
        row["mrr"] = sum(1 / r for r in ranks if r) / n
        row["r-hit@5"] = sum(1 for r in per_r[task] if r and r <= 5) / n
        row["n"] = n
        out[task] = row
    return out


def cross_validated(groups: Sequence[dict], features: Sequence[str], folds: int, seed: int = 13):
    order = np.random.RandomState(seed).permutation(len(groups))
    scores: list[np.ndarray | None] = [None] * len(groups)
    for part in np.array_split(order, folds):
        held = set(part.tolist())
        profile = fit([g for i, g in enumerate(groups) if i not in held], features, "cv")
        for i in part.tolist():
            scores[i] = profile.score(groups[i]["X"])
    return figures(groups, scores)


def _own_items(path: Path, task: str) -> list:
    """An own everyday set as evaluation items (a numbered guideline article, {title, article_no}, is gold
    like a statute article)."""
    from knowledge.evaluation import EvalItem

    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        for g in row.get("gold") or []:
            if g.get("title") and g.get("article_no") is not None and not g.get("section"):
                g["law"] = g.pop("title")
        items.append(EvalItem.model_validate({**row, "task": task}))
    return items


def main() -> None:
    from knowledge.evaluation import load_eval_set
    from knowledge.kb import KnowledgeBase

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--write", action="store_true", help="write knowledge/ranker_weights.json")
    ap.add_argument("--json", dest="json_out", type=Path, help="also write all figures as JSON here")
    ap.add_argument(
        "--no-synonyms", action="store_true", help="search the raw questions (no domain synonym expansion)"
    )
    ap.add_argument(
        "--with-own",
        action="store_true",
        help="also train on tests/quality's own everyday sets (folded with the dev questions; see OWN_SETS)",
    )
    args = ap.parse_args()
    from assistant.domains import load_domains

    domains = load_domains()
    kb = KnowledgeBase.open(args.home)
    kb.retrieve("预热", k=1)
    table: list[tuple[str, str, dict]] = []
    shipped: dict[str, dict] = {}
    for name, (path, tasks, domain) in PROFILES.items():
        items = [it for it in load_eval_set(path) if tasks is None or it.task in tasks]
        t0 = time.perf_counter()
        expand = None if args.no_synonyms or name not in domains else domains[name].expand
        groups = collect(kb, items, domain, expand)
        print(
            f"{name}: {len(groups)} questions collected in {time.perf_counter() - t0:.0f} s", file=sys.stderr
        )
        recall = np.mean([g["y"].any() for g in groups])
        print(f"{name}: a relevant passage among the candidates for {recall:.3f}", file=sys.stderr)
        feats = [f for f in FEATURES if f not in PROFILE_DROPS.get(name, ())]
        if args.with_own:
            own_items = _own_items(OWN_SETS[name], f"own-{name}")
            own = collect(kb, own_items, domain, expand)
            dev_only = fit(groups, feats, name)
            table.append(
                (name, "trained on the dev set only", figures(own, [dev_only.score(g["X"]) for g in own]))
            )
            groups = groups + own
        fused = FEATURES.index("fused")
        table.append((name, "hand-set fusion (before)", figures(groups, [g["X"][:, fused] for g in groups])))
        table.append((name, "learned, all features", cross_validated(groups, feats, args.folds)))
        for label, group in GROUPS.items():
            if all(f not in feats for f in group):
                continue
            table.append(
                (
                    name,
                    f"learned − {label}",
                    cross_validated(groups, [f for f in feats if f not in group], args.folds),
                )
            )
        shipped[name] = fit(groups, feats, name).to_json()
    print("| profile | variant | task | n | hit@1 | hit@5 | hit@10 | MRR | hit@5 renumbered |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, variant, figs in table:
        for task, row in figs.items():
            print(
                f"| {name} | {variant} | {task} | {row['n']} | {row['hit@1']:.3f} | {row['hit@5']:.3f} "
                f"| {row['hit@10']:.3f} | {row['mrr']:.3f} | {row['r-hit@5']:.3f} |"
            )
    if args.json_out:
        args.json_out.write_text(json.dumps(table, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.write:
        doc = {
            "about": "Learned ranker profiles (logistic regression on standardised features), trained on "
            "ALL questions of ../shared/eval/{legal,medical}_dev.jsonl by bench/train_ranker.py --write; "
            "report the cross-validated figures it prints, not figures of these weights on the dev sets.",
            "profiles": shipped,
        }
        WEIGHTS_FILE.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
