"""Answer quality on the checked-in everyday sets (tests/quality/), extractive generator, real corpus.

    .venv/bin/python bench/answer_quality.py --home DIR [--show] [--json]

HOME must hold the imported corpus (`yiju --home DIR kb import ../shared/corpus/laws` and
`… kb import ../shared/corpus/medical`). Prints, per set: the share answered, the share citing a gold
article/section, for the legal set the share whose FIRST citation is the governing article and whose
first key point states the rule (from a gold article, with its consequence clause), for the medical set
how many answers cite a document outside the gold ones, and for the unanswerable set the share of honest
〔无依据〕 answers. `--show` lists every question with what it cited.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
for _k, _v in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}.items():
    os.environ.setdefault(_k, _v)

SETS = {
    "legal": (REPO / "tests" / "quality" / "legal_everyday.jsonl", "legal"),
    "medical": (REPO / "tests" / "quality" / "medical_everyday.jsonl", "medical"),
    "unanswerable": (REPO / "tests" / "quality" / "unanswerable.jsonl", "legal"),
}


def main() -> None:
    """Run the sets and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated: legal,medical,unanswerable")
    ap.add_argument("--show", action="store_true", help="print every question and its citations")
    ap.add_argument(
        "--half",
        choices=["all", "odd", "even"],
        default="all",
        help="odd = the questions used for tuning (L01, L03, …), even = the untouched ones",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from assistant.grounding.evaluate import load_quality_set, run_set, summarize
    from assistant.pipeline import Pipeline

    pipeline = Pipeline.from_home(args.home)
    pipeline.warm()
    report: dict[str, dict] = {}
    for name in args.sets.split(","):
        path, domain = SETS[name]
        t0 = time.perf_counter()
        items = [it for it in load_quality_set(path) if _in_half(it.id, args.half)]
        results = run_set(items, lambda q, d: pipeline.ask(q, domain=d), domain)
        summary = summarize(results, name)
        summary["seconds"] = round(time.perf_counter() - t0, 1)
        report[name] = summary
        if args.show:
            for r in results:
                mark = "✓" if (r.first_is_governing if name == "legal" else r.gold_cited) else "✗"
                if name == "unanswerable":
                    mark = "✓" if r.status == "no_basis" else "✗"
                print(f"{mark} {r.id} [{r.status}] {r.question}")
                print(f"    cites: {' | '.join(r.citations) or '-'}")
                if r.first_point:
                    print(f"    1st:   {r.first_point[:150]}")
                if r.unrelated:
                    print(f"    UNRELATED: {' | '.join(r.unrelated)}")
    pipeline.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for name, summary in report.items():
            print(name, " ".join(f"{k}={v}" for k, v in summary.items()))


def _in_half(item_id: str, half: str) -> bool:
    """Odd-numbered ids were looked at while tuning; even-numbered ones were not."""
    if half == "all":
        return True
    number = int("".join(ch for ch in item_id if ch.isdigit()) or 0)
    return (number % 2 == 1) == (half == "odd")


if __name__ == "__main__":
    main()
