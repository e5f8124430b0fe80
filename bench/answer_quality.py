"""Answer quality on the checked-in everyday sets (tests/quality/), extractive generator, real corpus.

    .venv/bin/python bench/answer_quality.py --home DIR [--show] [--json]

HOME must hold the imported corpus (`yiju --home DIR kb import ../shared/corpus/laws` and
`… kb import ../shared/corpus/medical`). Prints, per set: the share answered, the share citing a gold
article/section, for the legal set the share whose FIRST citation is the governing article and whose
first key point states the rule (from a gold article, with its consequence clause), for the medical set
how many answers cite a document outside the gold ones, and for the unanswerable set the share of honest
〔无依据〕 answers. `--show` lists every question with what it cited.

Sets: legal, medical, unanswerable (tests/quality/, ours) and, with `--sets`, lawbench (../shared/eval
legal_dev.jsonl lawbench-3-2: is the FIRST citation the gold article?) and medical-dev (its hand-written
layperson questions) — dev sets, used for tuning: figures on them are tuned, not held out.
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
    # 20 questions written in session 10 before any run, to report an untouched figure once
    "legal-fresh": (REPO / "tests" / "quality" / "legal_fresh.jsonl", "legal"),
    # 20 more, written in session 11 before any run and before its later changes (untouched until its final run)
    "legal-fresh2": (REPO / "tests" / "quality" / "legal_fresh2.jsonl", "legal"),
    # 12 more clinic-regulation questions, written in session 11 before its later changes (untouched until final)
    "medical-fresh2": (REPO / "tests" / "quality" / "medical_fresh2.jsonl", "medical"),
    # 15 clinic-regulation questions written in session 11 before any run on them (untouched figure)
    "medical-fresh": (REPO / "tests" / "quality" / "medical_fresh.jsonl", "medical"),
    "unanswerable": (REPO / "tests" / "quality" / "unanswerable.jsonl", "legal"),
    # 40 more unanswerable questions, written later and used to tune the relevance gate (not a reporting set)
    "gate-tuning": (REPO / "tests" / "quality" / "gate_tuning.jsonl", "legal"),
}
EVAL = REPO.parent / "shared" / "eval"
# name -> (file, task, domain, how summarize scores it)
DEV_SETS = {
    "lawbench": (EVAL / "legal_dev.jsonl", "lawbench-3-2", "legal", "legal"),
    "medical-dev": (EVAL / "medical_dev.jsonl", "layperson-handwritten", "medical", "medical"),
}


def main() -> None:
    """Run the sets and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument(
        "--sets",
        default="legal,medical,unanswerable",
        help="comma-separated: legal,legal-fresh,legal-fresh2,medical,medical-fresh,medical-fresh2,unanswerable,gate-tuning,lawbench,medical-dev",
    )
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
        t0 = time.perf_counter()
        if name in DEV_SETS:
            items, domain, kind = _dev_items(name)
        else:
            path, domain = SETS[name]
            items = [it for it in load_quality_set(path) if _in_half(it.id, args.half)]
            # how the set is scored: the legal sets by governing article, the medical ones by unrelated sources
            kind = "unanswerable" if name == "gate-tuning" else name.split("-")[0]
        results = run_set(items, lambda q, d: pipeline.ask(q, domain=d), domain)
        summary = summarize(results, kind)
        summary["seconds"] = round(time.perf_counter() - t0, 1)
        report[name] = summary
        if args.show:
            for r in results:
                mark = "✓" if (r.first_is_governing if kind == "legal" else r.gold_cited) else "✗"
                if kind == "unanswerable":
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


def _dev_items(name: str) -> tuple[list, str, str]:
    """A ../shared/eval dev task as quality items (gold article = the governing one for lawbench)."""
    from assistant.grounding.evaluate import QualityItem

    path, task, domain, kind = DEV_SETS[name]
    if not path.is_file():
        raise SystemExit(f"{path} is not present")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line) if line.strip() else {}
        if row.get("task") != task:
            continue
        key = "governing" if kind == "legal" else "gold"
        items.append(
            QualityItem(id=row.get("id") or f"{task}-{n}", question=row["question"], **{key: row["gold"]})
        )
    return items, domain, kind


def _in_half(item_id: str, half: str) -> bool:
    """Odd-numbered ids were looked at while tuning; even-numbered ones were not."""
    if half == "all":
        return True
    number = int("".join(ch for ch in item_id if ch.isdigit()) or 0)
    return (number % 2 == 1) == (half == "odd")


if __name__ == "__main__":
    main()
