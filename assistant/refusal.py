"""A refusal that helps (safety's step of the pipeline): an illegal request is told that it is illegal, with
the article that forbids it — retrieved from the knowledge base and verified like any citation.

The policy names, per refusal category, what to search for (`legal_basis`: law, the statute's own wording,
a regex the article must match); the knowledge base decides which article that is. The article is
searched within that law, and the citation built from it goes through `assistant.grounding.ground`
against what was retrieved, so its text is the stored article verbatim. When the knowledge base holds no
such article (or cannot be reached) the refusal goes out plain: a refusal never waits on retrieval.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from assistant.grounding import ground
from knowledge.numerals import article_label
from knowledge.types import Passage
from safety.config import LegalBasis
from safety.normalize import normalize_forms
from safety.types import Answer, Citation

log = logging.getLogger(__name__)

# Candidates fetched per search: the article is usually first; a few more absorb near neighbours.
_CANDIDATES = 8


def article_fits(basis: LegalBasis, text: str) -> bool:
    """Whether an article's text matches the basis' `must` regex (in either normalised form)."""
    pattern = re.compile(basis.must, re.IGNORECASE)
    return any(pattern.search(form) for form in normalize_forms(text))


def find_forbidding_article(kb: Any, bases: Sequence[LegalBasis]) -> list[Citation]:
    """The verified citation of the first basis whose article the knowledge base holds ([] when none).

    Each basis is searched for with `kb.retrieve(query, law=…)` over every domain (a medical question can
    ask for something 刑法 forbids); the first retrieved article whose text fits the basis is cited and
    checked by `ground` against the retrieved passages. Any knowledge-base failure means no citation."""
    for basis in bases:
        try:
            passages: list[Passage] = kb.retrieve(basis.query, domain=None, k=_CANDIDATES, law=basis.law)
        except Exception as exc:  # noqa: BLE001 - a refusal must go out even when the store is down
            log.warning("legal basis search failed (%s): %s", basis.law, exc)
            return []
        for p in passages:
            if p.article_no is None or not article_fits(basis, p.text):
                continue
            # The claim names the law and the article found; `ground` accepts it only as a retrieved article
            # and fills in the stored text (passage_id pins 第X条之一 apart from 第X条).
            claim = Citation(
                law=basis.law,
                article_no=p.article_no,
                article_label=p.article_label or article_label(p.article_no),
                passage_id=p.id,
            )
            verified = ground(Answer(citations=[claim]), passages).answer.citations
            if verified:
                return verified[:1]
    return []


def render_refusal(message: str, intro: str, citations: Sequence[Citation], disclaimer: str) -> str:
    """The refusal as users read it: message, then (when cited) the intro and 【依据】 with verbatim text,
    then the disclaimer."""
    parts = [message.strip()]
    if citations:
        lines = [intro.strip(), "【依据】"]
        lines += [f"- {c.ref}：{c.text}" for c in citations]
        parts.append("\n".join(line for line in lines if line))
    if disclaimer:
        parts.append(disclaimer.strip())
    return "\n\n".join(parts)


__all__ = ["article_fits", "find_forbidding_article", "render_refusal"]
