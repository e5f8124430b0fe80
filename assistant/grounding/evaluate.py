"""Answer-quality sets: does the answer cite the right article or section, and does its first point answer?

Three kinds of JSONL set (see tests/quality/):
- legal: `{"id", "question", "governing": [{law, article_no}], "also": [...], "rule": [phrases]}` — the
  governing article should be the FIRST citation; the first key point should come from a gold article and
  contain one of the `rule` phrases (the clause with the legal consequence, e.g. 应当向劳动者支付经济补偿).
- medical: `{"id", "question", "gold": [{title, section} | {title|law, article_no}], "related": [titles]}` —
  answered citing a gold section/article, and no citation from a document outside gold ∪ related.
- unanswerable: `{"id", "question", "domain"}` — the honest answer is 〔无依据〕 (status no_basis).
Scoring takes anything with an `ask(question, domain)` returning an `AskResult`-like object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assistant.grounding.refs import find_refs, normalize_law, section_within
from safety.types import Citation


class GoldRef(BaseModel):
    """A gold article ({law|title, article_no}) or guideline section ({title, section})."""

    model_config = ConfigDict(extra="forbid")
    law: str = ""
    title: str = ""
    article_no: int | None = None
    section: str = ""

    @property
    def doc(self) -> str:
        """Normalised document name."""
        return normalize_law(self.law or self.title)

    def matches(self, c: Citation) -> bool:
        """True when a verified citation is this gold article, or lies in this gold section."""
        if normalize_law(c.law) != self.doc:
            return False
        if self.article_no is not None:
            return c.article_no == self.article_no
        numbered = re.fullmatch(r"\s*第\s*(\d+)\s*条\s*", self.section)
        if numbered:  # medical_dev names a numbered guideline article as its section: 「第11条」
            return c.article_no == int(numbered.group(1))
        return bool(c.section) and section_within(self.section, c.section)


class QualityItem(BaseModel):
    """One question of a quality set."""

    model_config = ConfigDict(extra="ignore")
    id: str
    question: str
    domain: str = ""
    area: str = ""
    governing: list[GoldRef] = Field(default_factory=list)
    also: list[GoldRef] = Field(default_factory=list)
    gold: list[GoldRef] = Field(default_factory=list)
    related: list[str] = Field(default_factory=list)
    rule: list[str] = Field(default_factory=list)
    written: str = ""

    def all_gold(self) -> list[GoldRef]:
        """Every acceptable citation."""
        return [*self.governing, *self.also, *self.gold]


def load_quality_set(path: Path) -> list[QualityItem]:
    """Read a quality set; a bad line raises ValueError naming the file and line."""
    items: list[QualityItem] = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(QualityItem.model_validate(json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}:{lineno}: {exc}") from exc
    return items


def point_sources(point: str) -> list[tuple[str, int | None, str]]:
    """(law, article_no, section) each reference in a key point names (its source suffix included)."""
    return [(r.law, r.article_no, r.section) for r in find_refs(point) if not r.self_reference]


def _point_from(point: str, gold: Iterable[GoldRef]) -> bool:
    refs = point_sources(point)
    return any(
        law == g.doc and (g.article_no is None or no == g.article_no) for law, no, _ in refs for g in gold
    )


class ItemResult(BaseModel):
    """How one question was answered."""

    id: str
    question: str
    status: str
    citations: list[str] = Field(default_factory=list)
    first_point: str = ""
    answered: bool = False
    gold_cited: bool = False
    first_is_governing: bool = False
    first_point_rule: bool = False
    gold_recall: float = 0.0  # share of the gold articles (governing and also) the answer cites
    unrelated: list[str] = Field(default_factory=list)


def score_item(item: QualityItem, result: Any) -> ItemResult:
    """Score one `AskResult` against the item's gold."""
    cites: list[Citation] = list(getattr(result, "citations", []) or [])
    points: list[str] = list(getattr(result, "points", []) or [])
    answered = getattr(result, "status", "") == "answered" and bool(cites)
    gold = item.all_gold()
    out = ItemResult(
        id=item.id,
        question=item.question,
        status=str(getattr(result, "status", "")),
        citations=[c.ref for c in cites],
        first_point=points[0] if points else "",
        answered=answered,
    )
    if not answered:
        return out
    out.gold_cited = any(g.matches(c) for c in cites for g in gold)
    out.gold_recall = sum(any(g.matches(c) for c in cites) for g in gold) / (len(gold) or 1)
    out.first_is_governing = any(g.matches(cites[0]) for g in item.governing)
    first = points[0]
    out.first_point_rule = _point_from(first, item.governing or gold) and (
        not item.rule or any(phrase in first for phrase in item.rule)
    )
    allowed = {g.doc for g in gold} | {normalize_law(t) for t in item.related}
    out.unrelated = [c.ref for c in cites if normalize_law(c.law) not in allowed]
    return out


def run_set(
    items: list[QualityItem], ask: Callable[[str, str], Any], default_domain: str
) -> list[ItemResult]:
    """Ask every question (in its own domain, else `default_domain`) and score the answers."""
    return [score_item(it, ask(it.question, it.domain or default_domain)) for it in items]


def summarize(results: list[ItemResult], kind: str) -> dict[str, float | int]:
    """Rates for a scored set: legal, medical or unanswerable."""
    n = len(results) or 1
    answered = [r for r in results if r.answered]
    out: dict[str, float | int] = {"n": len(results), "answered": round(len(answered) / n, 3)}
    if kind == "unanswerable":
        out["no_basis"] = round(sum(r.status == "no_basis" for r in results) / n, 3)
        return out
    out["gold_cited"] = round(sum(r.gold_cited for r in results) / n, 3)
    if kind == "legal":
        out["first_citation_governing"] = round(sum(r.first_is_governing for r in results) / n, 3)
        out["first_point_states_rule_of_answered"] = round(
            sum(r.first_point_rule for r in answered) / (len(answered) or 1), 3
        )
        # The lawyer's articles (governing and also: 第八十七条 with 第四十七条) an answer cites, on average.
        out["gold_articles_cited"] = round(sum(r.gold_recall for r in results) / n, 3)
    else:
        out["with_unrelated_document"] = sum(bool(r.unrelated) for r in answered)
    return out
