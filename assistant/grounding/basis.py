"""Basis selection — the relevance gate: which retrieved passages an answer may rest on.

A passage qualifies when it really addresses the question: it covers enough of the question's
distinctive words (`relevance`, weighted by corpus IDF) and is not far weaker than the best one. When
none qualifies the honest answer is 〔无依据〕, naming the words nothing in the knowledge base covers. An
article a kept one relies on (依照本法第四十七条…) joins the basis too (`relied_on`), never on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from assistant.domains import DomainSpec
from assistant.grounding.graph import internal_refs
from assistant.grounding.overlap import names_article
from assistant.grounding.relevance import (
    Relevance,
    relevance,
    topic_words,
    uniform_weights,
    weighted_coverage,
)
from assistant.grounding.scope import MIN_CORE, core_words, is_name, narrative_words
from assistant.grounding.statements import statements
from assistant.grounding.subject import TITLE_WEIGHT, fits_subject, titled_documents, topic_heading
from knowledge.types import Passage

# Articles a kept one relies on (依照本法第四十七条…) may join the basis beyond `max_passages`, this many.
_RELIED_ON_EXTRA = 2
# Among the passages that pass the gate, the ranker's relative confidence breaks near-ties in relevance.
_RETRIEVAL_WEIGHT = 0.2
# A passage the ranker is far surer of than of any other (score ≥ SURE_RATIO × the next) passes the gate
# with this much relevance, below the relative floor: a story's words (甲醛, 孩子, 搬进) may make a side
# article share more of the question than the governing one the ranker found (legal: forgive_narrative).
# 1.5 (was 3): 民法典第一千二百五十四条 for a flower pot thrown from a window, 1.65 × the next, was lost at the gate;
# measured 3 / 2 / 1.5 / 1.25 / 1.1: the odd half, unanswerable (0.85) and gate-tuning unchanged at every value.
SURE_RATIO = 1.5
SURE_MIN_RELEVANCE = 0.3


class BasisDecision(BaseModel):
    """What the gate kept, and why nothing was kept when that happens."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    passages: list[Passage] = Field(default_factory=list, description="The basis, best first")
    scores: dict[str, float] = Field(default_factory=dict, description="passage id -> relevance")
    best: float = Field(default=0.0, description="Relevance of the best retrieved passage")
    missing: list[str] = Field(default_factory=list, description="Question words the best passage lacks")


# What a population word (`retrieval.population_words`) weighs at most in the gate: below a rare topic word's
# corpus IDF (6-9), so covering it alone never passes; 2.0 (a common word's) also cost the 儿童 section of
# 「孩子感染新冠后…警惕重症」 its place (bench/answer_quality.py --sets medical-dev).
POPULATION_WEIGHT = 4.0


def judge_basis(
    question: str, passages: Sequence[Passage], spec: DomainSpec, weights: Mapping[str, float] | None = None
) -> BasisDecision:
    """The relevance gate. An article the question names exactly (《劳动合同法》第四十七条) always qualifies
    and comes first; others need relevance ≥ `retrieval.min_overlap` and ≥ `retrieval.relative_overlap`
    × the best passage's, must be about the question's subject (`fits_subject`, and cover one of its
    `retrieval.subject_words` rarest words), and a retrieval score ≥ `retrieval.min_score`; at most
    `max_passages`, best first (relevance + 0.2 × score relative to the best retrieved). `weights`: the
    question words' corpus weights (`question_weights`); uniform when absent."""
    r = spec.retrieval
    words = topic_words(question)
    w = dict(weights) if weights else uniform_weights(words)
    # Who is ill (老人, 孩子, 孕妇) is not what is asked about: weighed like a common word in the gate, it cannot
    # carry a passage about the population (健康素养 「21. 关爱老年人，预防老年人跌倒」) to a question on 便秘 or
    # 失眠. The composer still weighs it fully (孩子 picks a guideline's 儿童 section).
    for x in r.population_words:
        if x in w:
            w[x] = min(w[x], POPULATION_WEIGHT)
    exact = [p for p in passages if names_article(question, p)]
    # A passage with nothing quotable (only headings or table debris) cannot be a basis; nor can one about
    # another subject (a rare disease's chapter, a differential diagnosis) that merely shares the words.
    expanded = spec.expand(question)
    quotable = [p for p in passages if p not in exact and statements(p) and fits_subject(expanded, p, spec)]
    synonyms = spec.synonyms_for(question)
    scored = [(relevance(question, p, w, synonyms, words), p) for p in quotable]
    if r.forgive_narrative:  # a real user's story must not sink a question the corpus governs
        scored = _forgiving(question, scored, words, w, spec, synonyms)
    best_rel = max((rel.score for rel, _ in scored), default=0.0)
    floor = max(r.min_overlap, r.relative_overlap * best_rel)
    top_score = max((p.score for p in passages), default=0.0) or 1.0
    # The question's rarest words name what it is about (痛风, 止痛): a passage lacking all of them only
    # shares the question's generic words (急性, 发作, 药), however many.
    heavy = _rarest(words, w, r.subject_words)
    sure = _ranker_sure_of(passages) if r.forgive_narrative and _in_scope(words, spec) else None
    kept = [
        (rel, p)
        for rel, p in scored
        if p.score >= r.min_score
        and (
            rel.score >= floor
            or (p is sure and rel.score >= SURE_MIN_RELEVANCE and not any(is_name(x) for x in rel.missing))
        )
        and not (heavy and set(heavy) <= set(rel.missing))
        and _topic_covers(
            question, p, _rarest([x for x in words if x not in rel.missing], w, r.subject_words), synonyms
        )
    ]
    # Best first (relevance plus the ranker's relative confidence), so a wider candidate pool (k) can
    # bring in the governing article without pushing it past `max_passages`.
    titled = titled_documents(question, [p for _, p in kept], spec) if r.prefer_titled else set()
    kept.sort(
        key=lambda t: (
            -(t[0].score + _RETRIEVAL_WEIGHT * t[1].score / top_score + TITLE_WEIGHT * (t[1].law in titled))
        )
    )
    topical = [p for _, p in kept]
    missing = next((rel.missing for rel, _ in sorted(scored, key=lambda t: -t[0].score)), words)
    chosen = [*exact, *topical][: r.max_passages]

    def answers(text: str) -> float:
        return weighted_coverage(words, w, text, question, synonyms)

    return BasisDecision(
        passages=[*chosen, *relied_on(chosen, passages, answers)[:_RELIED_ON_EXTRA]],
        scores={p.id: rel.score for rel, p in scored},
        best=best_rel,
        missing=missing[:3],
    )


def _forgiving(
    question: str,
    scored: list[tuple[Relevance, Passage]],
    words: list[str],
    weights: Mapping[str, float],
    spec: DomainSpec,
    synonyms: Mapping[str, list[str]],
) -> list[tuple[Relevance, Passage]]:
    """Relevance that does not owe the question's story (`scope.narrative_words`: 晚上, 十点, 物流 need not
    be in 劳动法第四十四条) for a passage covering every core word and every name of the question.

    When some passage already passes on every word, only the passage the ranker is surest of is re-scored,
    and never above the best score so far: the story may not reshuffle a question that already has its
    answer, and may not raise the relative floor that keeps the side articles (measured: re-scoring every
    passage cost 2 of the 26 tuned legal questions, a 部门规章 tying the 法律 it implements)."""
    story = set(narrative_words(words, spec, weights))
    if not story:
        return scored
    best = max((r.score for r, _ in scored), default=0.0)
    floor = max(spec.retrieval.min_overlap, spec.retrieval.relative_overlap * best)
    answered = any(r.score >= floor for r, _ in scored)
    top = max((p.score for _, p in scored), default=0.0)
    # Every core word and every name (新加坡, 加州: where the question is asked from) must be covered.
    needed = set(core_words(words, spec)) | {x for x in words if is_name(x)}
    out: list[tuple[Relevance, Passage]] = []
    for rel, p in scored:
        if not answered or p.score >= top:
            lenient = relevance(question, p, weights, synonyms, words, forgiven=story)
            if lenient.score > rel.score and not needed & set(lenient.missing):
                score = lenient.score if not answered else min(lenient.score, best)
                rel = lenient.model_copy(update={"score": score})
        out.append((rel, p))
    return out


def _in_scope(words: list[str], spec: DomainSpec) -> bool:
    """The question names at least two things the domain vocabulary knows (`scope.core_words`)."""
    return len(set(core_words(words, spec))) >= MIN_CORE


def _ranker_sure_of(passages: Sequence[Passage]) -> Passage | None:
    """The retrieved passage the ranker is sure of: the best-scored one, at least `SURE_RATIO` times the
    score of every other (None when the ranker hesitates between several)."""
    ranked = sorted((p for p in passages if p.score > 0), key=lambda p: -p.score)
    if not ranked:
        return None
    if len(ranked) > 1 and ranked[0].score < SURE_RATIO * ranked[1].score:
        return None
    return ranked[0]


def _rarest(words: list[str], weights: Mapping[str, float], n: int) -> list[str]:
    """The question's `n` rarest words, with every word tied with the n-th (many words share the IDF cap)."""
    if n <= 0 or not words:
        return []
    ranked = sorted(words, key=lambda x: -weights.get(x, 1.0))
    cut = weights.get(ranked[min(n, len(ranked)) - 1], 1.0)
    return [x for x in ranked if weights.get(x, 1.0) >= cut]


def _topic_covers(question: str, p: Passage, heavy: list[str], synonyms: Mapping[str, list[str]]) -> bool:
    """A passage explaining a numbered everyday topic (健康素养 「14. 蚊子、苍蝇、老鼠、蟑螂等会传播多种疾病」) is
    about that topic: its heading must name one of `heavy` — the rarest question words the passage covers —
    not only its body text (蟑螂 … 诱发过敏性鼻炎 is no answer on nasal sprays). The rarest words the passage
    covers, not the question's: a story's objects (菜板, 凉菜, 全家人) are in no heading, while 「29. 生、熟食品
    要分开存放和加工」 names the 分开 it is asked about."""
    heading = topic_heading(p) if heavy else ""
    return not heading or any(
        weighted_coverage([h], {h: 1.0}, heading, question, synonyms) >= 0.5 for h in heavy
    )


def relied_on(
    kept: Sequence[Passage], pool: Sequence[Passage], answers: Callable[[str], float] | None = None
) -> list[Passage]:
    """The passages of `pool` that a `kept` article cites of its own law (本法第三十八条) and that are not
    kept themselves: half a rule (…的二倍) needs the rule it refers to. Per kept article (in order), the
    references made by its statements that answer the question best (`answers(statement text)`) first."""
    ids = {p.id for p in kept}
    out: list[Passage] = []
    for p in kept:
        if p.article_no is None:
            continue
        cited = [
            (answers(st.text) if answers else 0.0, i, ref)
            for st in statements(p)
            for i, ref in enumerate(internal_refs(st.text))
        ]
        for _, _, ref in sorted(cited, key=lambda t: -t[0]):
            for q in pool:
                if q.id not in ids and q.law == p.law and q.article_no == ref.article_no:
                    ids.add(q.id)
                    out.append(q)
    return out


def select_basis(
    question: str, passages: Sequence[Passage], spec: DomainSpec, weights: Mapping[str, float] | None = None
) -> list[Passage]:
    """The passages `judge_basis` keeps."""
    return judge_basis(question, passages, spec, weights).passages


def no_basis_hint(missing: Sequence[str]) -> str:
    """What to add, for a 〔无依据〕 answer: the question's words that nothing retrieved covers."""
    if not missing:
        return ""
    words = "、".join(f"「{m}」" for m in missing)
    return f"知识库中没有涉及{words}的条文或指南；可请管理员补充相关法规、指南后再问，或换个说法提问。"
