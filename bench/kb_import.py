"""Import benchmark: the whole ../shared/corpus/laws, then the guideline corpus (../shared/corpus/medical),
into a fresh data directory, then an unchanged re-import of both.

Run: .venv/bin/python bench/kb_import.py [--laws DIR] [--guidelines DIR|FILE] [--home DIR] [--keep]
Targets: first import <= 600 s including embeddings (issue 2, issue 10); unchanged re-import <= 5 % of it;
the whole guideline corpus imports with 0 errors (issue 9).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from assistant.home import apply_offline_env

apply_offline_env()

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Time a full import and an unchanged re-import; print the figures and their ratio."""
    from knowledge.kb import KnowledgeBase

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--laws", type=Path, default=ROOT.parent / "shared" / "corpus" / "laws")
    ap.add_argument("--guidelines", type=Path, default=ROOT.parent / "shared" / "corpus" / "medical")
    ap.add_argument("--home", type=Path, default=None, help="Data directory (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="Keep the temporary data directory")
    args = ap.parse_args()
    if not args.laws.is_dir():
        raise SystemExit(f"{args.laws}: not found (the shared corpus is needed for this benchmark)")
    home = args.home or Path(tempfile.mkdtemp(prefix="yiju-bench-"))
    kb = KnowledgeBase.open(home)
    t0 = time.perf_counter()
    first = kb.import_path(args.laws, progress=True)
    t_first = time.perf_counter() - t0
    guides = None
    t_guides = 0.0
    if args.guidelines.exists():
        t0 = time.perf_counter()
        guides = kb.import_path(args.guidelines, progress=True)
        t_guides = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = kb.import_path(args.laws, progress=False)
    if guides is not None:
        kb.import_path(args.guidelines, progress=False)
    t_again = time.perf_counter() - t0
    stats = kb.stats()
    total = t_first + t_guides
    result = {
        "files": first.files_imported,
        "articles": stats["articles"],
        "errors": len(first.errors),
        "embedder_trained": first.embedder_trained,
        "laws_import_s": round(t_first, 1),
        "guideline_passages": (guides.articles_added if guides else 0),
        "guideline_errors": (len(guides.errors) if guides else None),
        "guidelines_import_s": round(t_guides, 1),
        "first_import_s": round(total, 1),
        "first_import_target_s": 600,
        "reimport_unchanged_s": round(t_again, 2),
        "reimport_files_skipped": again.files_skipped,
        "reimport_ratio": round(t_again / total, 4),
        "reimport_ratio_target": 0.05,
        "by_domain": stats["by_domain"],
        "home": str(home),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.home is None and not args.keep:
        kb.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
