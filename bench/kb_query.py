"""Query benchmark: latency p50/p95 and dev-set retrieval figures on an imported knowledge base.

Run: .venv/bin/python bench/kb_query.py --home DIR [--set ../shared/eval/legal_dev.jsonl] [--baseline]
(import first, e.g. `yiju --home DIR kb import ../shared/corpus/laws` or bench/kb_import.py --home DIR).
`--baseline` also measures BM25 alone (dense weight 0) in the same run for comparison.
Targets (issue 2): p50 <= 50 ms, p95 <= 150 ms; lawbench-1-1 hit@1 >= 0.95; lawbench-3-2 hit@5 >= 0.75.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from assistant.home import apply_offline_env

apply_offline_env()

ROOT = Path(__file__).resolve().parents[1]


def _measure(kb, items, k: int, all_versions: bool = False) -> dict:
    from knowledge.evaluation import evaluate_retrieval

    kb.retrieve("预热 warm-up", k=k)  # build the in-memory index before timing
    lat: list[float] = []
    for it in items:
        t0 = time.perf_counter()
        kb.retrieve(it.question, k=k, all_versions=all_versions)
        lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    figures = evaluate_retrieval(kb, items, k=k, all_versions=all_versions)
    return {
        "p50_ms": round(lat[len(lat) // 2], 1),
        "p95_ms": round(lat[int(len(lat) * 0.95) - 1], 1),
        "eval": figures,
    }


def main() -> None:
    """Print latency and hit@k/MRR per task (hybrid, and BM25 alone with --baseline)."""
    from knowledge.config import KnowledgeConfig
    from knowledge.evaluation import load_eval_set
    from knowledge.kb import KnowledgeBase

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument(
        "--set", dest="set_path", type=Path, default=ROOT.parent / "shared" / "eval" / "legal_dev.jsonl"
    )
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--baseline", action="store_true")
    args = ap.parse_args()
    items = load_eval_set(args.set_path)
    kb = KnowledgeBase.open(args.home)
    t0 = time.perf_counter()
    kb.retrieve("预热", k=1)
    out = {"articles": kb.stats()["articles"], "index_load_s": round(time.perf_counter() - t0, 2)}
    out["hybrid"] = _measure(kb, items, args.k)
    # LawBench gold articles follow the numbering of older versions for some laws: also search them all
    out["hybrid_all_versions"] = _measure(kb, items, args.k, all_versions=True)
    if args.baseline:
        cfg = KnowledgeConfig.model_validate({"retrieval": {"dense_weight": 0.0}})
        bm25_kb = KnowledgeBase.open(args.home, cfg)
        out["bm25_only"] = _measure(bm25_kb, items, args.k)
        out["bm25_only_all_versions"] = _measure(bm25_kb, items, args.k, all_versions=True)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
