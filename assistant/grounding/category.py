"""【分类】: which of the domain's categories (domain.yaml `categories`) an answer belongs to."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.domains import DomainSpec
from knowledge.types import Passage


def _law_matches(law: str, listed: str) -> bool:
    # A law listed by the start of its title matches every edition and its implementing rules
    # (流行性感冒诊疗方案 → 流行性感冒诊疗方案（2025年版）, 劳动合同法 → 劳动合同法实施条例).
    return bool(listed) and law.startswith(listed)


def question_keywords(question: str, keywords: Sequence[str]) -> list[str]:
    """The keywords the question contains as words (公司 is not in 保险公司), longer ones hiding their parts."""
    from knowledge.textproc import find_whole_words

    hits = sorted(
        find_whole_words(question, list(dict.fromkeys(k for k in keywords if k))), key=len, reverse=True
    )
    kept: list[str] = []
    for w in hits:
        if not any(w in longer for longer in kept):
            kept.append(w)
    return kept


def classify(question: str, passages: Sequence[Passage], domain: DomainSpec) -> str:
    """Pick 【分类】: words of the question weigh most, then the documents the answer rests on.

    `passages` should be the ones the answer cites (the first counts double: it states the rule). Ties keep
    the category listed first in domain.yaml; nothing at all gives the domain's default category."""
    best, best_score = domain.default_category, 0.0
    for cat in domain.categories:
        score = 3.0 * sum(min(len(w), 4) for w in question_keywords(question, cat.keywords))
        for rank, p in enumerate(passages):
            if any(_law_matches(p.law, listed) for listed in cat.laws):
                score += 5.0 if rank == 0 else 2.0
        if score > best_score:
            best, best_score = cat.name, score
    return best


def normalise_category(category: str, domain: DomainSpec) -> tuple[str, bool]:
    """A generator's 【分类】 mapped onto the domain's names (close match, else the default); (name, changed)."""
    names = domain.category_names
    if category in names:
        return category, False
    close = [n for n in names if n in category or category in n]
    return (close[0] if close else domain.default_category), True
