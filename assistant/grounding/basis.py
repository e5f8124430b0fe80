"""Basis selection: which retrieved passages are good enough for an answer to rest on."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.domains import DomainSpec
from assistant.grounding.overlap import content_grams, coverage, names_article, passage_grams
from knowledge.types import Passage


def select_basis(question: str, passages: Sequence[Passage], spec: DomainSpec) -> list[Passage]:
    """Retrieved passages good enough to answer from: score ≥ min_score and enough topical overlap.

    An article the question names exactly (《劳动合同法》第四十七条) always qualifies, and comes first.
    """
    q = content_grams(spec.expand(question))
    exact: list[Passage] = []
    topical: list[Passage] = []
    for p in passages:
        if names_article(question, p):
            exact.append(p)
        elif (
            p.score >= spec.retrieval.min_score
            and coverage(q, passage_grams(p)) >= spec.retrieval.min_overlap
        ):
            topical.append(p)
    return [*exact, *topical][: spec.retrieval.max_passages]
