"""Build the shipped refusal-classifier artifact (reproducible; needs ../shared/eval).

    python -m safety.train_classifier                 # → safety/models/harm_zh.{npz,json}
    python -m safety.train_classifier --cv            # also run the nested grouped cross-validation
                                                      #   and record its figures in the manifest

The model is trained on every source in safety/training_data.py (the policies' examples, safety/data/*,
JADE + benign rows of ../shared/eval). Per-domain thresholds are calibrated on out-of-fold scores of a
grouped 5-fold cross-validation over the same rows (near duplicates purged, JADE subcategories whole), so
they reflect how the model scores questions it has not seen. Same data + same options → same artifact
(logistic regression with lbfgs is deterministic). The manifest records the sha256 of each source, which
tests compare with the repository's current texts (a stale artifact fails with this command in the message).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from safety.crossval import Options, calibrate, classifier_guards, cross_validate, out_of_fold, summarise
from safety.training_data import SHARED_EVAL, fingerprint, own_rows, policy_rows, shared_rows

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_NAME = "harm_zh"
COMMAND = "python -m safety.train_classifier"


def source_fingerprints(eval_dir: Path = SHARED_EVAL) -> dict[str, str]:
    """sha256 of each source's (label, text) rows: what the artifact's manifest is compared with."""
    return {
        "policy": fingerprint(policy_rows()),
        "own": fingerprint(own_rows()),
        "shared": fingerprint(shared_rows(eval_dir)),
    }


def build(out: Path, *, run_cv: bool = False, eval_dir: Path = SHARED_EVAL, log=print) -> dict:  # noqa: ANN001
    """Train, calibrate and save the artifact; returns its manifest."""
    from safety.crossval import _fit  # the one training recipe, shared with cross-validation

    shared = shared_rows(eval_dir)
    if not shared:
        raise SystemExit(f"{eval_dir}: no safety_train.jsonl / dev sets found; the artifact needs them")
    rows = [*policy_rows(), *own_rows(), *shared]
    opts = Options()
    t0 = time.perf_counter()
    log(f"{len(rows)} rows: calibrating thresholds on out-of-fold scores (5 grouped folds)…")
    p, _, _, _ = out_of_fold(rows, opts, folds=5, progress=log)
    thresholds = calibrate(p, rows, opts, guards=classifier_guards())
    log(f"thresholds: {thresholds}")
    model = _fit(rows, np.arange(len(rows)), opts)
    manifest: dict = {
        "name": out.name,
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": COMMAND + (" --cv" if run_cv else ""),
        "options": asdict(opts),
        "labels": model.labels,
        "rows": {
            "total": len(rows),
            "harmful": sum(r.harmful for r in rows),
            "benign": sum(not r.harmful for r in rows),
        },
        "sources": source_fingerprints(eval_dir),
        "thresholds": thresholds,
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    if run_cv:
        log("nested grouped cross-validation of the whole input check…")
        manifest["cross_validation"] = summarise(cross_validate(rows, opts, progress=log))
    model.manifest = manifest
    model.save(out)
    log(f"wrote {out.with_suffix('.npz')} ({out.with_suffix('.npz').stat().st_size // 1024} KiB) and .json")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=MODELS_DIR / DEFAULT_NAME, help="artifact path (no suffix)")
    ap.add_argument("--cv", action="store_true", help="also run nested grouped cross-validation")
    ap.add_argument("--eval-dir", type=Path, default=SHARED_EVAL, help="folder of safety_train.jsonl etc.")
    args = ap.parse_args(argv)
    build(args.out, run_cv=args.cv, eval_dir=args.eval_dir, log=lambda m: print(m, file=sys.stderr))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
