"""Question latency while the knowledge base changes (issue 13 item 3): idle vs during an import vs during a
removal, in one process (questions in the main thread, the change in another, as in `yiju serve`).

Run: .venv/bin/python bench/kb_churn_latency.py [--laws ../shared/corpus/laws] [--files 400] [--extra 40]
     [--rounds 3] [--idle-s 6]
It imports `--files` statute files into a fresh home (the tiny static embedder, trained in seconds), then asks
the legal_dev questions in a loop, `--rounds` times: idle; while `--extra` more files are imported; idle again;
while the largest law is removed and the index is rebuilt in the background. Each churn phase is compared with
the idle phase right before it (the machine is shared, so its load drifts: the 1-minute load average is
printed per phase). Prints p50/p95 per phase and round, pooled over rounds, the ratios to idle (target p95 <=
2x), and whether any answer retrieved after remove() returned contained the removed law (target: 0).
Knowledge config `index_worker` (auto: a child process while questions are served) can be set with --worker.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.home import apply_offline_env  # noqa: E402

apply_offline_env()

ROOT = Path(__file__).resolve().parents[1]
TINY = {"embedder": {"kind": "static_trained", "dim": 64, "max_pairs": 20000, "max_seconds": 20}}


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 2) if values else 0.0


def _ask_until(
    kb, questions: list[str], stop: threading.Event, minimum: int, removed: str = "", seconds: float = 0.0
) -> dict:
    lat: list[float] = []
    leaks = 0
    i = 0
    started = time.perf_counter()
    load = os.getloadavg()[0]
    while not stop.is_set() or len(lat) < minimum or time.perf_counter() - started < seconds:
        q = questions[i % len(questions)]
        i += 1
        t0 = time.perf_counter()
        hits = kb.retrieve(q, k=5)
        lat.append((time.perf_counter() - t0) * 1000)
        if removed and any(p.law == removed for p in hits):
            leaks += 1
        if len(lat) > 20000:
            break
    return {
        "n": len(lat),
        "p50_ms": _pct(lat, 0.5),
        "p95_ms": _pct(lat, 0.95),
        "leaks": leaks,
        "load_1min": [round(load, 1), round(os.getloadavg()[0], 1)],
        "_lat": lat,
    }


def _pooled(phases: list[dict]) -> dict:
    lat = [x for p in phases for x in p["_lat"]]
    return {"n": len(lat), "p50_ms": _pct(lat, 0.5), "p95_ms": _pct(lat, 0.95)}


def _ratio(a: dict, b: dict) -> float:
    return round(a["p95_ms"] / max(b["p95_ms"], 1e-6), 2)


def _round(kb, questions: list[str], extra: Path, idle_s: float) -> dict:
    """One idle / import / idle / removal cycle."""
    done = threading.Event()
    done.set()
    idle_a = _ask_until(kb, questions, done, minimum=300, seconds=idle_s)
    done = threading.Event()
    t0 = time.perf_counter()
    worker = threading.Thread(target=lambda: (kb.import_path(extra, progress=False), done.set()))
    worker.start()
    during_import = _ask_until(kb, questions, done, minimum=50)
    worker.join()
    import_s = time.perf_counter() - t0
    kb.serving.wait_idle(600)
    done = threading.Event()
    done.set()
    idle_b = _ask_until(kb, questions, done, minimum=300, seconds=idle_s)

    victim = max(kb.laws(), key=lambda x: x.articles).law
    rebuilt = threading.Event()
    t0 = time.perf_counter()
    kb.remove(victim)
    remove_return_s = time.perf_counter() - t0
    threading.Thread(target=lambda: (kb.serving.wait_idle(600), rebuilt.set())).start()
    during_removal = _ask_until(kb, questions, rebuilt, minimum=50, removed=victim)
    rebuild_s = time.perf_counter() - t0
    return {
        "idle_before_import": idle_a,
        "during_import": {**during_import, "import_s": round(import_s, 1)},
        "idle_before_removal": idle_b,
        "during_removal": {
            **during_removal,
            "law": victim,
            "remove_returned_s": round(remove_return_s, 2),
            "rebuilt_s": round(rebuild_s, 1),
        },
        "p95_ratio_import": _ratio(during_import, idle_a),
        "p95_ratio_removal": _ratio(during_removal, idle_b),
    }


def main() -> None:
    from knowledge.config import KnowledgeConfig
    from knowledge.evaluation import load_eval_set
    from knowledge.kb import KnowledgeBase

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--laws", type=Path, default=ROOT.parent / "shared" / "corpus" / "laws")
    ap.add_argument(
        "--set", dest="set_path", type=Path, default=ROOT.parent / "shared" / "eval" / "legal_dev.jsonl"
    )
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--extra", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle-s", type=float, default=6.0, help="seconds of each idle phase")
    ap.add_argument("--worker", choices=["auto", "process", "thread"], default="auto")
    args = ap.parse_args()
    files = sorted(args.laws.rglob("*.md"))
    if len(files) < args.files + args.extra * args.rounds:
        sys.exit(f"{args.laws}: only {len(files)} statute files")
    work = Path(tempfile.mkdtemp(prefix="yiju-churn-"))
    try:
        base = work / "base"
        chosen = [(base, files[: args.files])]
        for r in range(args.rounds):
            lo = args.files + r * args.extra
            chosen.append((work / f"extra{r}", files[lo : lo + args.extra]))
        for folder, picked in chosen:
            for f in picked:
                target = folder / f.relative_to(args.laws)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, target)
        config = KnowledgeConfig.model_validate({**TINY, "index_worker": args.worker})
        kb = KnowledgeBase.open(work / "home", config)
        t0 = time.perf_counter()
        kb.import_path(base, progress=False)
        setup_s = time.perf_counter() - t0
        questions = [it.question for it in load_eval_set(args.set_path)]
        for q in questions[:20]:
            kb.retrieve(q, k=5)  # warm
        rounds = [_round(kb, questions, work / f"extra{r}", args.idle_s) for r in range(args.rounds)]
        stats = kb.stats()
        kb.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pooled = {
        phase: _pooled([r[phase] for r in rounds])
        for phase in ("idle_before_import", "during_import", "idle_before_removal", "during_removal")
    }
    idle = _pooled([r[p] for r in rounds for p in ("idle_before_import", "idle_before_removal")])
    out = {
        "articles": stats["articles"],
        "cpus": os.cpu_count(),
        "index_worker": args.worker,
        "setup_import_s": round(setup_s, 1),
        "rounds": [
            {
                k: ({kk: vv for kk, vv in v.items() if kk != "_lat"} if isinstance(v, dict) else v)
                for k, v in r.items()
            }
            for r in rounds
        ],
        "pooled": {"idle": idle, **pooled},
        "p95_ratio_import": _ratio(pooled["during_import"], pooled["idle_before_import"]),
        "p95_ratio_removal": _ratio(pooled["during_removal"], pooled["idle_before_removal"]),
        "p95_ratio_import_per_round": [r["p95_ratio_import"] for r in rounds],
        "p95_ratio_removal_per_round": [r["p95_ratio_removal"] for r in rounds],
        "removed_law_returned_after_remove": sum(r["during_removal"]["leaks"] for r in rounds),
    }
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
