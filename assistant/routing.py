"""Auto domain routing: a small, deterministic keyword classifier over the question.

Each domain scores the question with its `routing_keywords` and its categories' keywords; a longer
keyword is stronger evidence (so 劳动合同 beats 药 in "劳动合同里写的药品补贴"). A question that mentions
no domain's words goes to the default domain. Scores are returned so callers can log the decision.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from assistant.domains import DomainSpec


class RouteDecision(BaseModel):
    """Which domain a question went to, and why."""

    domain: str
    scores: dict[str, float]
    matched: dict[str, list[str]]
    fallback: bool = False


def _domain_keywords(spec: DomainSpec) -> set[str]:
    words = set(spec.routing_keywords)
    for cat in spec.categories:
        words.update(cat.keywords)
    return {w for w in words if w}


def keyword_hits(text: str, keywords: set[str]) -> list[str]:
    """Keywords occurring in text, dropping those contained in a longer hit (count 劳动合同 once, not 劳动 too)."""
    hits = sorted((w for w in keywords if w in text), key=len, reverse=True)
    kept: list[str] = []
    for w in hits:
        if not any(w in longer for longer in kept):
            kept.append(w)
    return kept


def route(question: str, domains: Mapping[str, DomainSpec], default: str | None = None) -> RouteDecision:
    """Pick the domain for `question`; ties and no-evidence questions go to `default` (else the first domain)."""
    if not domains:
        raise ValueError("no domains to route between")
    default = default if default in domains else next(iter(domains))
    scores: dict[str, float] = {}
    matched: dict[str, list[str]] = {}
    for name, spec in domains.items():
        hits = keyword_hits(question, _domain_keywords(spec))
        matched[name] = hits
        # Longer keywords are more specific; sqrt-ish damping keeps one long word from swamping several short ones.
        scores[name] = float(sum(min(len(w), 4) for w in hits))
    best = max(scores.values())
    leaders = [n for n, s in scores.items() if s == best]
    if best == 0 or (len(leaders) > 1 and default in leaders):
        return RouteDecision(domain=default, scores=scores, matched=matched, fallback=best == 0)
    return RouteDecision(domain=sorted(leaders)[0], scores=scores, matched=matched)
