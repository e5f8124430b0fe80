"""Retrieval evaluation on question sets shaped like ../shared/eval/legal_dev.jsonl.

Each line: {"question": str, "gold": [{"law": short name, "article_no": int}], "task": str}. A retrieved
passage is a hit when its (law, article_no) is one of the gold pairs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from knowledge.errors import LoadError
from knowledge.loaders import short_law_name

CUTOFFS = (1, 5, 10)


class GoldArticle(BaseModel):
    """One gold article."""

    model_config = ConfigDict(extra="ignore")
    law: str
    article_no: int


class EvalItem(BaseModel):
    """One question with its gold articles."""

    model_config = ConfigDict(extra="ignore")
    question: str
    gold: list[GoldArticle]
    task: str = "default"


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read a JSONL question set; errors name the file and line."""
    items: list[EvalItem] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LoadError(str(path), f"cannot read: {exc.strerror or exc}") from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            items.append(EvalItem.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise LoadError(str(path), f"not valid JSON: {exc.msg}", lineno) from None
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise LoadError(str(path), f"field {field}: {first['msg']}", lineno) from None
    if not items:
        raise LoadError(str(path), "no questions in the file", 1)
    return items


def evaluate_retrieval(
    kb,
    items: Sequence[EvalItem],
    k: int = 10,
    progress: Callable[[int], None] | None = None,
    all_versions: bool = False,
) -> dict[str, dict[str, float]]:
    """hit@1/5/10 (cut-offs up to k) and MRR@k per task and "overall"; also n and mean latency (ms).

    `all_versions` searches every stored version of each law instead of the newest only (question sets
    such as LawBench were written against older texts, whose article numbers differ)."""
    per_task: dict[str, list[tuple[int | None, float]]] = {}
    for item in items:
        gold = {(short_law_name(g.law), g.article_no) for g in item.gold}
        started = time.perf_counter()
        passages = kb.retrieve(item.question, k=k, all_versions=all_versions)
        ms = (time.perf_counter() - started) * 1000
        rank = next((i for i, p in enumerate(passages, 1) if (p.law, p.article_no) in gold), None)
        per_task.setdefault(item.task, []).append((rank, ms))
        if progress:
            progress(1)
    out: dict[str, dict[str, float]] = {}
    groups = {
        **{t: v for t, v in sorted(per_task.items())},
        "overall": [r for v in per_task.values() for r in v],
    }
    for task, ranks in groups.items():
        n = len(ranks)
        row: dict[str, float] = {"n": n}
        for c in CUTOFFS:
            if c <= k:
                row[f"hit@{c}"] = round(sum(1 for r, _ in ranks if r is not None and r <= c) / n, 4)
        row["mrr"] = round(sum(1.0 / r for r, _ in ranks if r is not None) / n, 4)
        row["latency_ms_mean"] = round(sum(ms for _, ms in ranks) / n, 2)
        out[task] = row
    return out
