"""Input-check latency: p50/p95 per question of the whole safety input check (patterns, compose rules,
classifier), against the pattern layer alone measured in the same run as the baseline.

Run: .venv/bin/python bench/safety_input.py [--n 2000]
Questions: every dev-set question and safety_train prompt in ../shared/eval (or the built-in evaluation
set when ../shared is absent). Target (issue 11): p95 <= 5 ms per question. Also prints policy load time
(the shipped classifier artifact is loaded, not trained).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.home import apply_offline_env  # noqa: E402

apply_offline_env()


def _questions(limit: int) -> list[str]:
    shared = ROOT.parent / "shared" / "eval"
    out: list[str] = []
    for name, key in (("legal_dev", "question"), ("medical_dev", "question"), ("safety_train", "prompt")):
        path = shared / f"{name}.jsonl"
        if path.is_file():
            out += [json.loads(x)[key] for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    if not out:
        path = ROOT / "safety" / "evalsets" / "safety_dev.jsonl"
        out = [json.loads(x)["prompt"] for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return out[:limit]


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000, help="at most this many questions")
    args = ap.parse_args()
    from safety.policy import load_policy
    from safety.rules import ClassifierRule
    from safety.types import Question

    t0 = time.perf_counter()
    policies = {d: load_policy(d) for d in ("legal", "medical")}
    load_s = time.perf_counter() - t0
    qs = _questions(args.n)
    for d, p in policies.items():  # warm-up: jieba's dictionary, regex caches
        p.check_input(Question(text="预热一下", domain=d))
    full: list[float] = []
    full_cpu: list[float] = []
    base: list[float] = []
    for i, text in enumerate(qs):
        d = ("legal", "medical")[i % 2]
        p = policies[d]
        q = Question(text=text + f" #{i}", domain=d)  # suffix: defeat the normalisation cache
        t, c = time.perf_counter(), time.thread_time()
        p.check_input(q)
        full.append((time.perf_counter() - t) * 1000)
        full_cpu.append((time.thread_time() - c) * 1000)
        rules = [r for r in p.rules if not isinstance(r, ClassifierRule)]
        t = time.perf_counter()
        for r in rules:
            r.check_input(q)
        base.append((time.perf_counter() - t) * 1000)
    print(f"policy load (legal + medical, artifact loaded): {load_s:.2f} s")
    print(f"{len(qs)} questions")
    print(f"input check   p50 {_pct(full, 0.5):.2f} ms  p95 {_pct(full, 0.95):.2f} ms  (target p95 <= 5 ms)")
    print(
        f"input check CPU time p50 {_pct(full_cpu, 0.5):.2f} ms  p95 {_pct(full_cpu, 0.95):.2f} ms  (wall time "
        "suffers when other processes compete for the cores; load average now "
        f"{__import__('os').getloadavg()[0]:.1f})"
    )
    print(f"patterns only p50 {_pct(base, 0.5):.2f} ms  p95 {_pct(base, 0.95):.2f} ms  (baseline)")
    print(f"ratio p95 full/patterns: {_pct(full, 0.95) / max(1e-9, _pct(base, 0.95)):.2f}x")


if __name__ == "__main__":
    main()
