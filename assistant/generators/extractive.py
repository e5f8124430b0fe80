"""The `extractive` generator: no LLM. It picks the retrieved sentences that best cover the question.

Relevance is character-bigram overlap with the question (`assistant.grounding.overlap`), with a small
bonus for higher-ranked passages. The answer cites exactly the passages its points came from, so its
citations always verify. Deterministic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence

from assistant.domains import DomainSpec
from assistant.generators.base import GenParams, Message
from assistant.generators.config import ExtractiveConfig
from assistant.grounding.citations import passage_section
from assistant.grounding.format import render
from assistant.grounding.overlap import content_grams, coverage, names_article
from assistant.routing import keyword_hits
from knowledge.numerals import ARTICLE_PREFIX_RE, article_label
from knowledge.types import Passage
from safety.types import Answer, Citation

_SENTENCE_END = re.compile(r"(?<=[。；！？;!?])|\n+")


def split_sentences(text: str) -> list[str]:
    """Split article text into sentences on 。；！？ and line breaks; the 第X条 prefix is dropped."""
    text = ARTICLE_PREFIX_RE.sub("", text.strip())
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


_LIST_ITEM = re.compile(r"^\s*[（(][一二三四五六七八九十]+[)）]\s*")
_LEAD_IN = re.compile(r"[：:]\s*$")


def answer_units(text: str) -> list[str]:
    """Self-contained statements of an article, in order.

    A list item such as "（二）未及时足额支付劳动报酬的；" means nothing alone, so it is joined to its
    lead-in ("用人单位有下列情形之一的，劳动者可以解除劳动合同：…"); other lines split into sentences.
    """
    units: list[str] = []
    lead = ""
    for line in (ln.strip() for ln in ARTICLE_PREFIX_RE.sub("", text.strip()).splitlines()):
        if not line:
            continue
        if lead and _LIST_ITEM.match(line):
            item = _LIST_ITEM.sub("", line).rstrip("；;。，,")
            units.append(f"{lead}：{item}")
            continue
        lead = ""
        sentences = split_sentences(line)
        if sentences and _LEAD_IN.search(sentences[-1]):
            lead = _LEAD_IN.sub("", sentences[-1]).strip()
            sentences = sentences[:-1]
        units.extend(sentences)
    return units


# "（六）法律、行政法规规定劳动者可以解除劳动合同的其他情形" / "…的其他行为的": a catch-all list item
# says nothing about the case asked, so it is a point only when nothing else is left.
_CATCH_ALL = re.compile(r"其他[^，,。；;：:]{0,30}(?:情形|的)$")


def is_catch_all(unit: str) -> bool:
    """True for a catch-all statement ending in 其他情形 / 其他…的 (a list's last "other cases" item)."""
    return bool(_CATCH_ALL.search(unit.rstrip("；;。，, ")))


def _drop_catch_alls(units: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    specific = [t for t in units if not is_catch_all(t[2])]
    return specific or units


def classify(question: str, passages: Sequence[Passage], domain: DomainSpec) -> str:
    """Pick 【分类】: question keywords weigh most, then the laws cited, then words in the cited text."""
    best, best_score = domain.default_category, 0.0
    laws = {p.law for p in passages}
    body = " ".join(p.text for p in passages)
    for cat in domain.categories:
        score = 3.0 * sum(min(len(w), 4) for w in keyword_hits(question, set(cat.keywords)))
        score += 4.0 * len(laws & set(cat.laws))
        score += 0.5 * len(keyword_hits(body, set(cat.keywords)))
        if score > best_score:  # strict: ties keep the earlier (more specific, listed first) category
            best, best_score = cat.name, score
    return best


def _cite(p: Passage) -> Citation:
    """The (unverified) citation of a passage: its article, or a guideline's section."""
    return Citation(
        law=p.law,
        article_no=p.article_no,
        article_label=p.article_label or article_label(p.article_no),
        section=passage_section(p),
    )


class ExtractiveGenerator:
    """Builds 【分类】/【要点】/【依据】 from the retrieved passages in `params` (the messages are ignored)."""

    kind = "extractive"
    model_name = "extractive"

    def __init__(self, config: ExtractiveConfig | None = None) -> None:
        self.config = config or ExtractiveConfig()

    def answer(self, question: str, passages: Sequence[Passage], domain: DomainSpec) -> Answer:
        """The structured answer (unverified citations without text; the pipeline fills the verbatim text).

        An article the question names exactly is answered from its own opening statements; otherwise the
        statements covering most of the question (synonyms expanded) win, at most two per article.
        """
        named = [i for i, p in enumerate(passages) if names_article(question, p)]
        if named:
            chosen = [(i, pos, u) for i in named[:1] for pos, u in enumerate(answer_units(passages[i].text))]
            chosen = _drop_catch_alls(chosen)[: self.config.max_points]
        else:
            chosen = self._best_units(domain.expand(question), passages)
        points: list[str] = []
        seen_units: set[str] = set()
        cited_ranks: list[int] = []
        for rank, _pos, unit in chosen:
            p = passages[rank]
            # Two articles with identical wording would give the same point twice.
            if unit in seen_units:
                continue
            seen_units.add(unit)
            if len(unit) > self.config.max_sentence_chars:
                unit = unit[: self.config.max_sentence_chars - 1] + "…"
            points.append(f"{unit.rstrip('；;。，,')}（{_cite(p).ref}）")
            if rank not in cited_ranks:
                cited_ranks.append(rank)
        used = [passages[r] for r in cited_ranks]
        citations = [_cite(p) for p in used]
        return Answer(
            category=classify(question, used or passages, domain), points=points, citations=citations
        )

    def _best_units(self, question: str, passages: Sequence[Passage]) -> list[tuple[int, int, str]]:
        q = content_grams(question)
        units = [
            (rank, pos, unit)
            for rank, p in enumerate(passages)
            for pos, unit in enumerate(answer_units(p.text))
        ]
        units = _drop_catch_alls(units)
        unit_grams = [content_grams(u) for _, _, u in units]
        # Own words of a unit (a list item without its shared lead-in), weighted by rarity among the
        # candidate units: "劳动报酬" singles out one item of 第三十八条, "劳动合同" does not.
        own_grams = [
            content_grams(u.split("：", 1)[1]) if "：" in u else g
            for (_, _, u), g in zip(units, unit_grams, strict=True)
        ]
        df: dict[str, int] = {}
        for grams in unit_grams:
            for g in grams & q:
                df[g] = df.get(g, 0) + 1
        idf = {g: math.log(1 + len(units) / n) for g, n in df.items()}
        total = sum(idf.values()) or 1.0
        scored: list[tuple[float, int, int, str]] = []
        for (rank, pos, unit), grams, own in zip(units, unit_grams, own_grams, strict=True):
            s = coverage(q, grams) + 0.5 * sum(idf.get(g, 0.0) for g in own & q) / total
            # Rank bonus breaks ties toward better-retrieved articles; position bonus toward an article's lead.
            scored.append((s + 0.05 / (1 + rank) + 0.01 / (1 + pos), rank, pos, unit))
        chosen: list[tuple[int, int, str]] = []
        chosen_units: set[str] = set()
        per_passage: dict[int, int] = {}
        best = max((t[0] for t in scored), default=0.0)
        best_in_passage: dict[int, float] = {}
        for score, rank, _pos, _unit in scored:
            best_in_passage[rank] = max(score, best_in_passage.get(rank, 0.0))
        for score, rank, pos, unit in sorted(scored, key=lambda t: (-t[0], t[1], t[2])):
            if len(chosen) >= self.config.max_points:
                break
            # Two statements per article at most, nothing far weaker than the best one, and within an
            # article only statements close to its best: list items share their lead-in's words, so a
            # second item must match the question nearly as well to be worth showing.
            weak_in_article = per_passage.get(rank, 0) and score < 0.9 * best_in_passage[rank]
            if per_passage.get(rank, 0) >= 2 or weak_in_article or (chosen and score < 0.5 * best):
                continue
            if unit in chosen_units:  # identical wording in two articles: one point is enough
                continue
            chosen_units.add(unit)
            chosen.append((rank, pos, unit))
            per_passage[rank] = per_passage.get(rank, 0) + 1
        # Present points in passage order, then statement order, so the answer reads like the law.
        return sorted(chosen)

    def generate(self, messages: Sequence[Message], params: GenParams) -> str:
        """Render the extractive answer as text (the same text every time for the same inputs)."""
        if params.domain is None:
            raise ValueError("the extractive generator needs params.domain")
        if not params.passages:
            raise ValueError("the extractive generator needs retrieved passages")
        return render(self.answer(params.question, params.passages, params.domain), with_text=False)

    def stream(self, messages: Sequence[Message], params: GenParams) -> Iterator[str]:
        """Yield the answer line by line."""
        yield from self.generate(messages, params).splitlines(keepends=True)

    def close(self) -> None:
        """Nothing to release."""
