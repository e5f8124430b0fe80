"""`python -m adapters.train --config FILE [--set key=value …]` — the same run as `yiju train`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from adapters.config import TrainConfig, load_config, parse_override
from adapters.errors import AdapterError
from adapters.recipe import TrainResult, run_training

__all__ = ["TrainConfig", "train", "main"]


def train(
    config: Path | str | TrainConfig,
    overrides: dict[str, Any] | None = None,
    *,
    home: Path | None = None,
    callbacks: list[Any] | None = None,
    quiet: bool = False,
) -> TrainResult:
    """Validate a config (path or object, plus overrides) and run the training recipe."""
    if isinstance(config, TrainConfig):
        cfg = config.model_copy(update=overrides or {}) if overrides else config
        if overrides:
            cfg = TrainConfig.model_validate(json.loads(cfg.model_dump_json()))
    else:
        cfg = load_config(config, overrides, home=home)
    return run_training(cfg, callbacks=callbacks, quiet=quiet)


def format_summary(result: TrainResult) -> str:
    """A short human-readable report of a finished run."""
    s = result.summary
    lines = [
        f"adapter {s['name']} ({s['domain']}) → {result.output_dir}",
        f"  samples: {s['samples']['train']} train / {s['samples']['validation']} validation; "
        f"refusal samples: {s['refusal_samples']['train']} train / {s['refusal_samples']['validation']} validation",
        f"  removed: {s['duplicates_removed']} duplicates, {s['leakage_removed']} leaking; "
        f"template issues: {s['template_issues']}",
        f"  steps: {s['steps']} ({s['epochs']} epochs{', early stopped' if s['early_stopped'] else ''}); "
        f"val loss {s['val_loss_before']} → best {s['best_val_loss']}",
        f"  {s['device']}/{s['precision']}, {s['train_seconds']} s, {s['tokens_per_second']} tokens/s, "
        f"peak memory {s['peak_memory_bytes'] / 2**20:.0f} MiB",
    ]
    lines.extend(f"  note: {n}" for n in s["notes"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(var, "1")
    parser = argparse.ArgumentParser(
        prog="python -m adapters.train", description="Train a yiju LoRA adapter."
    )
    parser.add_argument("--config", required=True, type=Path, help="YAML training config")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        overrides = dict(parse_override(item) for item in args.set)
        result = train(args.config, overrides, quiet=args.quiet)
    except AdapterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
