"""End-to-end latency of `Pipeline.ask` with the extractive generator, against retrieval alone.

    .venv/bin/python bench/ask_latency.py [--home DIR] [--laws ../shared/corpus/laws] [-n 200]

Imports the statute corpus into HOME first if it holds no articles (several minutes, once; default home
bench/out/ask-home). Questions come from ../shared/eval/legal_dev.jsonl (both tasks, interleaved) plus a
few medical ones. For each question it times `kb.retrieve` (what the pipeline asks for) and the whole
`pipeline.ask` (safety, retrieval, extractive generation, verification, audit write to a scratch SQLite),
and prints p50/p95 of both and their ratio. Target: end-to-end p50 ≤ 200 ms on the full corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
for _k, _v in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}.items():
    os.environ.setdefault(_k, _v)

MEDICAL = [
    "医院拒绝给我复印病历怎么办？",
    "疫苗接种后出现异常反应由谁负责？",
    "药店可以不凭处方卖抗生素吗？",
    "传染病患者有义务接受隔离治疗吗？",
    "精神障碍患者住院需要本人同意吗？",
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _questions(n: int) -> list[tuple[str, set[tuple[str, int]]]]:
    """(question, gold articles) pairs: scenarios and look-ups interleaved, a medical one every tenth."""
    path = REPO.parent / "shared" / "eval" / "legal_dev.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def pair(r: dict) -> tuple[str, set[tuple[str, int]]]:
        return r["question"], {(g["law"], int(g["article_no"])) for g in r.get("gold", [])}

    lookups = [pair(r) for r in rows if r["task"] == "lawbench-1-1"]
    scenarios = [pair(r) for r in rows if r["task"] != "lawbench-1-1"]
    mixed: list[tuple[str, set[tuple[str, int]]]] = []
    for i in range(max(len(lookups), len(scenarios))):
        mixed += scenarios[i : i + 1] + lookups[i : i + 1]
        if i % 10 == 0:
            mixed.append((MEDICAL[(i // 10) % len(MEDICAL)], set()))
    return mixed[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=REPO / "bench" / "out" / "ask-home")
    ap.add_argument("--laws", type=Path, default=REPO.parent / "shared" / "corpus" / "laws")
    ap.add_argument("-n", type=int, default=200, help="questions to time")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--filter", choices=["post", "store"], default=None, help="override retrieval.filter")
    args = ap.parse_args()

    from assistant.config import load_config
    from assistant.domains import load_domains
    from assistant.generators.extractive import ExtractiveGenerator
    from assistant.pipeline import Pipeline
    from knowledge.kb import KnowledgeBase
    from safety.audit import SqliteAuditStore

    args.home.mkdir(parents=True, exist_ok=True)
    cfg = load_config(None, args.home)
    kb = KnowledgeBase.open(args.home, cfg.knowledge_config())
    if not kb.stats().get("articles"):
        if not args.laws.is_dir():
            sys.exit(f"{args.laws}: statute corpus not found (needed once to build {args.home})")
        print(f"importing {args.laws} into {args.home} (once) …", flush=True)
        t = time.perf_counter()
        report = kb.import_path(args.laws, domain="auto", progress=True)
        print(f"imported {report.articles_added} articles in {time.perf_counter() - t:.0f} s", flush=True)
    stats = kb.stats()
    print(
        f"KB: {stats.get('articles')} articles, {stats.get('laws')} laws, by domain {stats.get('by_domain')}"
    )

    domains = load_domains()
    if args.filter:
        for spec in domains.values():
            spec.retrieval.filter = args.filter
    with tempfile.TemporaryDirectory() as tmp:
        audit = SqliteAuditStore(Path(tmp) / "audit.sqlite")
        pipe = Pipeline(kb=kb, audit=audit, domains=domains, generator=ExtractiveGenerator(), config=cfg)
        questions = _questions(args.n)
        for q, _ in questions[: args.warmup]:  # jieba dictionary, embedder, caches
            pipe.ask(q)
        retrieval_ms: list[float] = []
        e2e_ms: list[float] = []
        statuses: dict[str, int] = {}
        with_gold = gold_retrieved = gold_cited = 0
        for q, gold in questions:
            domain = pipe.resolve_domain(q)
            t = time.perf_counter()
            retrieved = pipe.retrieve(q, domain)  # exactly the KB calls the pipeline makes
            retrieval_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            result = pipe.ask(q, domain=domain)
            e2e_ms.append((time.perf_counter() - t) * 1000)
            statuses[result.status] = statuses.get(result.status, 0) + 1
            if gold:
                with_gold += 1
                gold_retrieved += any((p.law, p.article_no) in gold for p in retrieved)
                gold_cited += any((c.law, c.article_no) in gold for c in result.citations)
        audit.close()

    r50, r95 = statistics.median(retrieval_ms), _pct(retrieval_ms, 0.95)
    e50, e95 = statistics.median(e2e_ms), _pct(e2e_ms, 0.95)
    print(f"questions: {len(questions)}  statuses: {statuses}")
    print(f"retrieval only : p50 {r50:7.1f} ms   p95 {r95:7.1f} ms")
    print(f"end-to-end ask : p50 {e50:7.1f} ms   p95 {e95:7.1f} ms")
    print(f"ratio e2e/retrieval: p50 {e50 / r50:5.2f}x   p95 {e95 / r95:5.2f}x")
    print(f"pipeline overhead (p50): {e50 - r50:.1f} ms")
    print(f"target end-to-end p50 <= 200 ms: {'MET' if e50 <= 200 else 'NOT MET'}")
    if with_gold:
        print(
            f"grounding on {with_gold} LawBench questions: gold in retrieved top-k {gold_retrieved / with_gold:.2f}, "
            f"gold among the answer's verified citations {gold_cited / with_gold:.2f}"
        )


if __name__ == "__main__":
    main()
