"""Question latency while the knowledge base changes (issue 13 item 3): idle vs during an import vs during a
removal, in one process (questions in the main thread, the change in another, as in `yiju serve`).

Run: .venv/bin/python bench/kb_churn_latency.py [--laws ../shared/corpus/laws] [--files 400] [--extra 40]
It imports `--files` statute files into a fresh home (the tiny static embedder, trained in seconds), then asks
the legal_dev questions in a loop: idle; while `--extra` more files are imported; while one law is removed and
the index is rebuilt in the background. Prints p50/p95 per phase, the ratio to idle (target p95 <= 2x), and
whether any answer retrieved after remove() returned contained the removed law (target: 0).
"""

from __future__ import annotations

import argparse
import json
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


def _ask_until(kb, questions: list[str], stop: threading.Event, minimum: int, removed: str = "") -> dict:
    lat: list[float] = []
    leaks = 0
    i = 0
    while not stop.is_set() or len(lat) < minimum:
        q = questions[i % len(questions)]
        i += 1
        t0 = time.perf_counter()
        hits = kb.retrieve(q, k=5)
        lat.append((time.perf_counter() - t0) * 1000)
        if removed and any(p.law == removed for p in hits):
            leaks += 1
        if len(lat) > 20000:
            break
    return {"n": len(lat), "p50_ms": _pct(lat, 0.5), "p95_ms": _pct(lat, 0.95), "leaks": leaks}


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
    args = ap.parse_args()
    files = sorted(args.laws.rglob("*.md"))
    if len(files) < args.files + args.extra:
        sys.exit(f"{args.laws}: only {len(files)} statute files")
    work = Path(tempfile.mkdtemp(prefix="yiju-churn-"))
    try:
        base, extra = work / "base", work / "extra"
        for folder, chosen in (
            (base, files[: args.files]),
            (extra, files[args.files : args.files + args.extra]),
        ):
            for f in chosen:
                target = folder / f.relative_to(args.laws)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, target)
        kb = KnowledgeBase.open(work / "home", KnowledgeConfig.model_validate(TINY))
        t0 = time.perf_counter()
        kb.import_path(base, progress=False)
        setup_s = time.perf_counter() - t0
        questions = [it.question for it in load_eval_set(args.set_path)]
        for q in questions[:20]:
            kb.retrieve(q, k=5)  # warm
        idle_stop = threading.Event()
        idle_stop.set()
        idle = _ask_until(kb, questions, idle_stop, minimum=300)

        done = threading.Event()
        t0 = time.perf_counter()
        worker = threading.Thread(target=lambda: (kb.import_path(extra, progress=False), done.set()))
        worker.start()
        during_import = _ask_until(kb, questions, done, minimum=50)
        worker.join()
        import_s = time.perf_counter() - t0

        victim = max(kb.laws(), key=lambda x: x.articles).law
        rebuilt = threading.Event()
        t0 = time.perf_counter()
        kb.remove(victim)
        remove_return_s = time.perf_counter() - t0
        threading.Thread(target=lambda: (kb.serving.wait_idle(600), rebuilt.set())).start()
        during_removal = _ask_until(kb, questions, rebuilt, minimum=50, removed=victim)
        rebuild_s = time.perf_counter() - t0
        stats = kb.stats()
        kb.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = {
        "articles": stats["articles"],
        "setup_import_s": round(setup_s, 1),
        "idle": idle,
        "during_import": {**during_import, "import_s": round(import_s, 1)},
        "during_removal": {
            **during_removal,
            "law": victim,
            "remove_returned_s": round(remove_return_s, 2),
            "rebuilt_s": round(rebuild_s, 1),
        },
        "p95_ratio_import": round(during_import["p95_ms"] / max(idle["p95_ms"], 1e-6), 2),
        "p95_ratio_removal": round(during_removal["p95_ms"] / max(idle["p95_ms"], 1e-6), 2),
        "removed_law_returned_after_remove": during_removal["leaks"],
    }
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
