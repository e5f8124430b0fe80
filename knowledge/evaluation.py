"""Retrieval evaluation on question sets shaped like ../shared/eval/{legal,medical}_dev.jsonl.

Each line: {"question": str, "gold": [...], "task": str}, where a gold entry is either a statute article
{"law": short name, "article_no": int} or a guideline section {"title": str, "section": "四、临床表现 > （一）…"}.
A retrieved passage is relevant when it is one of the gold articles, or when it belongs to the gold title and
one of its heading paths starts with the gold section (component by component: "十、治疗" does not match
"十一、预防"). Figures are per task and "overall": hit@1/5/10, MRR@k, and query latency.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from knowledge.errors import LoadError
from knowledge.loaders import short_law_name
from knowledge.types import Passage

CUTOFFS = (1, 5, 10)
HEADING_SEP = ">"


class GoldArticle(BaseModel):
    """One gold reference: a statute article (law + article_no) or a guideline section (title + section)."""

    model_config = ConfigDict(extra="ignore")
    law: str = ""
    article_no: int | None = None
    title: str = ""
    section: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> GoldArticle:
        if self.law and self.article_no is not None:
            return self
        if self.title and self.section:
            return self
        raise ValueError("a gold entry needs law + article_no, or title + section")

    @property
    def is_section(self) -> bool:
        """True for a guideline-section gold entry."""
        return not (self.law and self.article_no is not None)


class EvalItem(BaseModel):
    """One question with its gold references.

    The answer-quality sets (tests/quality/legal_everyday.jsonl) name the article a lawyer would cite first
    `governing` instead of `gold`: it is read as the gold, so `yiju eval retrieval` measures retrieval on them
    as they are."""

    model_config = ConfigDict(extra="ignore")
    question: str
    gold: list[GoldArticle]
    task: str = "default"

    @model_validator(mode="before")
    @classmethod
    def _governing_is_gold(cls, data: object) -> object:
        if isinstance(data, dict) and "gold" not in data and "governing" in data:
            return {**data, "gold": data["governing"]}
        return data


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
            field = ".".join(str(p) for p in first["loc"]) or "gold"
            raise LoadError(str(path), f"field {field}: {first['msg']}", lineno) from None
    if not items:
        raise LoadError(str(path), "no questions in the file", 1)
    return items


def heading_parts(path: str) -> list[str]:
    """'四、临床表现 > （一）临床表现' -> ['四、临床表现', '（一）临床表现'] (spaces around parts ignored)."""
    return [p.strip() for p in path.split(HEADING_SEP) if p.strip()]


def starts_with_section(path: str, gold: str) -> bool:
    """True when heading path `path` lies in section `gold` (the same path or a subsection of it)."""
    have, want = heading_parts(path), heading_parts(gold)
    return bool(want) and have[: len(want)] == want


def passage_headings(p: Passage) -> list[str]:
    """Every heading path a passage covers: `sections` when stored, else its `section`, else its chapter."""
    many = getattr(p, "sections", None) or []
    one = getattr(p, "section", "") or p.chapter
    return [*many, one] if one and one not in many else list(many)


def _bigram_set(text: str) -> set[str]:
    from knowledge.textproc import char_bigrams

    return set(char_bigrams(text))


def same_text(a: str, b: str, threshold: float = 0.7) -> bool:
    """Whether two article texts are the same provision (bigram Jaccard >= threshold): how an article renumbered
    by a later version is recognised."""
    x, y = _bigram_set(a), _bigram_set(b)
    return bool(x and y) and len(x & y) / len(x | y) >= threshold


def is_relevant(
    p: Passage, gold: Sequence[GoldArticle], gold_texts: dict[tuple[str, int], list[str]] | None = None
) -> bool:
    """Whether passage `p` answers a question whose gold references are `gold`.

    `gold_texts` maps a gold (law, article_no) to that article's text in every stored version: a passage of the
    same law with the same text under another number (the article was renumbered) then counts too."""
    for g in gold:
        if not g.is_section:
            law = short_law_name(g.law)
            if p.law == law and p.article_no == g.article_no:
                return True
            texts = (gold_texts or {}).get((law, g.article_no or 0), [])
            if p.law == law and any(same_text(p.text, t) for t in texts):
                return True
        elif g.title in (p.law, p.law_full) and any(
            starts_with_section(h, g.section) for h in passage_headings(p)
        ):
            return True
    return False


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def summarize(ranks: Sequence[int | None], ms: Sequence[float], k: int) -> dict[str, float]:
    """n, hit@c for each cut-off c <= k, MRR@k and latency (mean, p50, p95) of one group of questions."""
    n = len(ranks)
    row: dict[str, float] = {"n": n}
    for c in CUTOFFS:
        if c <= k:
            row[f"hit@{c}"] = round(sum(1 for r in ranks if r is not None and r <= c) / n, 4) if n else 0.0
    row["mrr"] = round(sum(1.0 / r for r in ranks if r is not None) / n, 4) if n else 0.0
    row["latency_ms_mean"] = round(sum(ms) / n, 2) if n else 0.0
    row["latency_ms_p50"] = round(_percentile(ms, 0.5), 2)
    row["latency_ms_p95"] = round(_percentile(ms, 0.95), 2)
    return row


def first_relevant_rank(
    passages: Sequence[Passage],
    gold: Sequence[GoldArticle],
    gold_texts: dict[tuple[str, int], list[str]] | None = None,
) -> int | None:
    """1-based rank of the first relevant passage, or None."""
    return next((i for i, p in enumerate(passages, 1) if is_relevant(p, gold, gold_texts)), None)


def gold_article_texts(kb, items: Sequence[EvalItem]) -> dict[tuple[str, int], list[str]]:
    """(law, article_no) -> the article's text in every stored version, for every statute gold of `items`."""
    out: dict[tuple[str, int], list[str]] = {}
    for item in items:
        for g in item.gold:
            if g.is_section:
                continue
            key = (short_law_name(g.law), g.article_no or 0)
            if key not in out:
                rows = kb.manifest.query("SELECT text FROM articles WHERE law=? AND article_no=?", key)
                out[key] = [r["text"] for r in rows]
    return out


def evaluate_with(
    search: Callable[[str, int], Sequence[Passage]],
    items: Sequence[EvalItem],
    k: int = 10,
    progress: Callable[[int], None] | None = None,
    gold_texts: dict[tuple[str, int], list[str]] | None = None,
) -> dict[str, dict[str, float]]:
    """Figures per task and "overall" for any search function `search(question, k) -> passages`
    (`gold_texts`: see is_relevant; counts renumbered gold articles)."""
    per_task: dict[str, list[tuple[int | None, float]]] = {}
    for item in items:
        started = time.perf_counter()
        passages = search(item.question, k)
        ms = (time.perf_counter() - started) * 1000
        rank = first_relevant_rank(passages[:k], item.gold, gold_texts)
        per_task.setdefault(item.task, []).append((rank, ms))
        if progress:
            progress(1)
    groups = {**dict(sorted(per_task.items())), "overall": [r for v in per_task.values() for r in v]}
    return {task: summarize([r for r, _ in v], [m for _, m in v], k) for task, v in groups.items()}


def evaluate_retrieval(
    kb,
    items: Sequence[EvalItem],
    k: int = 10,
    progress: Callable[[int], None] | None = None,
    all_versions: bool = False,
    domain: str | None = None,
    as_of: str | None = None,
    renumbered: bool = False,
) -> dict[str, dict[str, float]]:
    """hit@1/5/10 (cut-offs up to k), MRR@k and latency per task and "overall" for `kb.retrieve`.

    `domain` restricts the search to one knowledge domain; `all_versions` searches every stored version of
    each law and `as_of` the versions in force on a date (question sets such as LawBench were written
    against older texts, whose article numbers differ). `renumbered` also counts a passage that holds a gold
    article's text under another number (the newest version renumbered it)."""

    def search(question: str, n: int) -> Sequence[Passage]:
        return kb.retrieve(question, k=n, all_versions=all_versions, domain=domain, as_of=as_of)

    texts = gold_article_texts(kb, items) if renumbered else None
    return evaluate_with(search, items, k=k, progress=progress, gold_texts=texts)
