"""Routing accuracy: keyword rules, the n-gram model, and both (the shipped router), with cross-validation.

    .venv/bin/python bench/routing_eval.py [--folds 5] [--json]

Sets:
- examples: assistant/domains/*/routing_examples.txt (what the shipped model is trained on);
- dev: tests/assistant/data/routing_dev.jsonl (written to tune the keyword lists and weights: a dev figure);
- ../shared/eval/legal_dev.jsonl + medical_dev.jsonl (never trained on by the shipped router: untouched
  figure; skipped when ../shared is absent).
Cross-validation: k folds over examples + dev (stratified by domain, fixed order); the model of each fold is
trained on the other folds (+ the keywords) and scored on its fold. A second CV adds the shared dev
questions to the pool, as the brief suggests, to see whether training on them would help colloquial
questions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.domains import load_domains  # noqa: E402
from assistant.routing import NgramRouterModel, Router, read_examples  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"


def load_dev() -> list[tuple[str, str]]:
    rows = (ROOT / "tests/assistant/data/routing_dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [(r["question"], r["domain"]) for r in map(json.loads, rows) if r]


def load_shared() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, domain in (("legal_dev.jsonl", "legal"), ("medical_dev.jsonl", "medical")):
        path = SHARED / name
        if path.is_file():
            out += [
                (json.loads(ln)["question"], domain)
                for ln in path.read_text(encoding="utf-8").splitlines()
                if ln
            ]
    return out


def accuracy(router: Router, rows: list[tuple[str, str]]) -> dict:
    wrong = [(q, d, router.route(q, "legal").domain) for q, d in rows]
    wrong = [w for w in wrong if w[1] != w[2]]
    by = {}
    for dom in sorted({d for _, d in rows}):
        n = sum(1 for _, d in rows if d == dom)
        by[dom] = round(1 - sum(1 for w in wrong if w[1] == dom) / n, 4) if n else None
    return {
        "n": len(rows),
        "accuracy": round(1 - len(wrong) / max(len(rows), 1), 4),
        "by_domain": by,
        "wrong": wrong,
    }


def folds(rows: list[tuple[str, str]], k: int) -> list[list[int]]:
    """Stratified, deterministic: the i-th question of each domain goes to fold i mod k."""
    out: list[list[int]] = [[] for _ in range(k)]
    seen: dict[str, int] = {}
    for i, (_, d) in enumerate(rows):
        out[seen.get(d, 0) % k].append(i)
        seen[d] = seen.get(d, 0) + 1
    return out


def cross_validate(domains, pool: list[tuple[str, str]], k: int, weights: list[float]) -> dict:
    kw_texts = [(w, n) for n, s in domains.items() for w in sorted(s.routing_keywords)]
    correct = {w: 0 for w in weights}
    for held in folds(pool, k):
        held_set = set(held)
        train = [pool[i] for i in range(len(pool)) if i not in held_set] + kw_texts
        model = NgramRouterModel.train([t for t, _ in train], [d for _, d in train])
        for w in weights:
            router = Router(domains, model=model, keyword_weight=w)
            correct[w] += sum(1 for i in held if router.route(pool[i][0], "legal").domain == pool[i][1])
    return {str(w): round(c / len(pool), 4) for w, c in correct.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    domains = load_domains()
    examples = [(q, name) for name, spec in domains.items() for q in read_examples(spec.folder)]
    dev = load_dev()
    shared = load_shared()
    t0 = time.perf_counter()
    shipped = Router(domains)
    train_s = time.perf_counter() - t0
    keywords_only = Router(domains, train=False, keyword_weight=1.0)
    model_only = Router(domains, model=shipped.model, keyword_weight=0.0)
    report: dict = {
        "train_seconds": round(train_s, 3),
        "examples": len(examples),
        "features": len(shipped.model.vocab),
    }
    for label, router in (("keywords", keywords_only), ("model", model_only), ("shipped", shipped)):
        report[label] = {"dev": accuracy(router, dev)}
        if shared:
            report[label]["shared_dev_untouched"] = accuracy(router, shared)
    weights = [0.0, 0.25, 0.5, 1.0, 2.0]
    report["cv_examples_plus_dev"] = cross_validate(domains, examples + dev, args.folds, weights)
    if shared:
        report["cv_with_shared_dev"] = cross_validate(domains, examples + dev + shared, args.folds, weights)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(
        f"model: {report['examples']} example questions, {report['features']} n-grams, trained in {train_s:.2f} s"
    )
    for label in ("keywords", "model", "shipped"):
        r = report[label]
        line = f"{label:9s} dev {r['dev']['accuracy']:.3f} (n={r['dev']['n']})"
        if "shared_dev_untouched" in r:
            s = r["shared_dev_untouched"]
            line += (
                f" | shared legal+medical dev {s['accuracy']:.3f} {s['by_domain']} (n={s['n']}, untouched)"
            )
        print(line)
    print(f"{args.folds}-fold CV accuracy by keyword weight, examples+dev: {report['cv_examples_plus_dev']}")
    if shared:
        print(
            f"{args.folds}-fold CV accuracy by keyword weight, + shared dev: {report['cv_with_shared_dev']}"
        )
    for q, want, got in report["shipped"]["dev"]["wrong"]:
        print(f"  dev miss: {q} (want {want}, got {got})")


if __name__ == "__main__":
    main()
