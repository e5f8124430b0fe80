"""Follow-ups: how the deterministic rewrite does on the follow-up dev set, and what it changes for answers.

    .venv/bin/python bench/conversation_eval.py [--home DIR]   # default: a temporary starter knowledge base

Prints, on tests/assistant/data/followups.jsonl (46 dialogues written for this; the rewrite rules were tuned
on them, so these are dev figures):
- follow-up detection, domain and kept-topic-terms accuracy of the resolution, and how often the bare
  follow-up (no conversation) would have been routed to the right domain;
- answers through the real pipeline, last turn asked with its conversation vs alone: answered rate, and
  for dialogues with gold laws/articles, how often a citation comes from a gold law / is a gold article.
The audit rows go to a throwaway database.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.home import apply_offline_env  # noqa: E402

apply_offline_env()

from assistant.conversation import PriorTurn, resolve  # noqa: E402
from assistant.domains import load_domains  # noqa: E402
from assistant.routing import route  # noqa: E402

DATA = ROOT / "tests/assistant/data/followups.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=None, help="data directory with a knowledge base")
    args = ap.parse_args()
    rows = [json.loads(ln) for ln in DATA.read_text(encoding="utf-8").splitlines() if ln]
    domains = load_domains()
    resolved = []
    for row in rows:
        history: list[PriorTurn] = []
        for q in row["turns"][:-1]:
            r = resolve(q, history, domains, default="legal")
            history.append(PriorTurn(question=q, standalone=r.standalone, domain=r.domain))
        resolved.append((row, history, resolve(row["turns"][-1], history, domains, default="legal")))
    n = len(rows)
    detect = sum(r.follow_up == row["follow_up"] for row, _, r in resolved) / n
    dom = sum(r.domain == row["domain"] for row, _, r in resolved) / n
    kept = sum(all(t in r.standalone for t in row["contains"]) for row, _, r in resolved) / n
    follow_rows = [(row, r) for row, _, r in resolved if row["follow_up"]]
    bare = sum(route(row["turns"][-1], domains, "legal").domain == row["domain"] for row, _ in follow_rows)
    print(
        f"dialogues {n} ({len(follow_rows)} follow-ups): detection {detect:.3f}, domain {dom:.3f}, "
        f"topic terms kept {kept:.3f}"
    )
    print(f"domain of the follow-ups routed alone (no conversation): {bare / len(follow_rows):.3f}")

    from assistant.config import load_config
    from assistant.pipeline import Pipeline
    from knowledge.kb import KnowledgeBase
    from safety.audit import SqliteAuditStore

    with tempfile.TemporaryDirectory() as tmp:
        home = args.home
        if home is None:
            home = Path(tmp) / "home"
            home.mkdir()
            kb = KnowledgeBase.open(home, load_config(None, home).knowledge_config())
            kb.import_starter()
            kb.close()
        p = Pipeline.from_home(home)
        p.audit = SqliteAuditStore(Path(tmp) / "bench-audit.sqlite")
        stats = {
            "with": [0, 0, 0, 0],
            "alone": [0, 0, 0, 0],
        }  # answered, right domain, gold law, gold article
        gold_n = art_n = 0
        t0 = time.perf_counter()
        for row, history, _ in resolved:
            if not row["follow_up"]:
                continue
            gold_laws = set(row.get("gold_laws", []))
            gold_articles = {tuple(a) for a in row.get("gold_articles", [])}
            gold_n += bool(gold_laws)
            art_n += bool(gold_articles)
            for label, kwargs in (("with", {"history": history}), ("alone", {})):
                res = p.ask(row["turns"][-1], **kwargs)
                laws = {c.law for c in res.citations}
                arts = {(c.law, c.article_no) for c in res.citations}
                s = stats[label]
                s[0] += res.status == "answered"
                s[1] += res.domain == row["domain"]
                s[2] += bool(gold_laws and laws & gold_laws)
                s[3] += bool(gold_articles and arts & gold_articles)
        secs = time.perf_counter() - t0
        p.close()
    k = len(follow_rows)
    print(f"answers ({'starter KB' if args.home is None else args.home}; {secs:.1f} s):")
    for label in ("with", "alone"):
        a, d, g, ga = stats[label]
        print(
            f"  {label:5s} conversation: answered {a}/{k}, right domain {d}/{k}, "
            f"citation from a gold law {g}/{gold_n}, gold article cited {ga}/{art_n}"
        )


if __name__ == "__main__":
    main()
