"""The retrieval step (retrieval's): the domain's knowledge domains searched, citable articles first."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.domains import DomainSpec
from assistant.grounding.subject import fits_subject, with_compound_parts
from assistant.pipeline.base import PipelineBase
from knowledge.types import Passage

# How many times k candidates the retrieval step fetches so citable articles can displace uncitable text.
_CITABLE_OVERFETCH = 3


class RetrieveStep(PipelineBase):
    """`retrieve` / `_retrieve`: what the pipeline searches for a question in a domain."""

    def retrieve(self, question: str, domain: str, k: int | None = None) -> list[Passage]:
        """The passages the pipeline retrieves for `question` in `domain` (before the basis filter);
        `k` overrides the domain's `retrieval.k` (evaluation asks for 10)."""
        return self._retrieve(question, self.domain_spec(domain), k)

    def _retrieve(self, question: str, spec: DomainSpec, k: int | None = None) -> list[Passage]:
        r = spec.retrieval
        k = k or r.k
        wanted = set(r.knowledge_domains)
        # Over-fetch: a long guide without 第X条 or section can fill the whole top-k with passages nothing can
        # cite; the extra candidates let citable ones take those places (see prefer_citable).
        fetch = k * _CITABLE_OVERFETCH
        # Search with the statutes' wording too (社保 -> 社会保险): colloquial words alone match unrelated law.
        query = spec.expand(question)
        if r.split_compounds:
            query = with_compound_parts(query)
        if r.filter == "post":
            # One unfiltered search, kept by domain: a filtered vector query scans the whole collection.
            pool = self.kb.retrieve(query, domain=None, k=fetch * r.post_factor, profile=spec.name)
            kept = prefer_citable([p for p in pool if _serves(p, wanted)], k * len(wanted))
            if len(kept) >= k:
                return kept
        passages: list[Passage] = []
        seen: set[str] = set()
        for kd in r.knowledge_domains:
            found = self.kb.retrieve(query, domain=kd, k=fetch, profile=spec.name)
            # A passage about another subject (a rare disease's part, 透析患者's chapter, a 鉴别诊断) can never
            # be a basis (grounding.subject): it must not take one of the k places.
            found = [p for p in found if fits_subject(query, p, spec)]
            for p in prefer_citable(found, k):
                if p.id not in seen:
                    seen.add(p.id)
                    passages.append(p)
        if len(r.knowledge_domains) > 1:
            passages.sort(key=lambda p: -p.score)
            passages = prefer_citable(passages, len(passages))
        return passages


def _serves(p: Passage, wanted: set[str]) -> bool:
    """Whether passage `p` serves one of the knowledge domains in `wanted` (a law can serve several)."""
    return bool(wanted.intersection(getattr(p, "domains", None) or [p.domain]))


def _citable(p: Passage) -> bool:
    """A statute article (第X条) or a guideline passage (cited by its section heading path)."""
    return p.article_no is not None or bool(getattr(p, "is_guideline", False))


def prefer_citable(passages: Sequence[Passage], limit: int) -> list[Passage]:
    """The first `limit` passages, citable ones first, each group in rank order.

    Citable = a statute article or a guideline passage with its section; both compete on score, so a
    guideline section is never pushed down by a worse-scored numbered article. Passages with neither
    (prefaces, loose text) cannot be cited, so they only fill places left over; they never displace one.
    """
    citable = [p for p in passages if _citable(p)]
    other = [p for p in passages if not _citable(p)]
    return [*citable, *other][:limit]
