"""The `extractive` generator: no LLM. It quotes the retrieved statements that answer the question.

Each statement of each basis passage (`assistant.grounding.statements`: sentences, list items joined to
their lead-in, with their 款/项) is scored by how much of the question's distinctive words it and its
passage cover (`assistant.grounding.relevance`, corpus IDF weights when the pipeline passes them), with a
bonus for a statement that states a consequence (应当支付… / 可以解除… / 不得…), when a legal question asks
what to do or what it gets (怎么办 / 能要补偿吗) for a statute statement with a remedy or sanction (支付二倍的
工资, 承担赔偿责任), when it asks 「有效吗」 for one that rules on validity (其内容无效), and when it asks for a
number (多久/多少/怎么算) for one that gives it. The best statement is the first point; a list the
question asks about as a whole is quoted whole; a first point that rests on another retrieved article
(依照本法第四十七条…的二倍) is followed by that article's rule, or by the 项 it names (依照本法第四十四条第一项
→ 第四十四条第（一）项; the pipeline brings such cited articles in: `assistant.grounding.graph`). The learned
ranker's confidence weighs in (the article retrieval is sure of governs more often than the one sharing most
words); an article's opening rule goes before its details; the special law (劳动合同法) before the general
one (劳动法) when both state the same rule; 「有哪些…」 quotes the whole list; a guideline answer never mixes in another document. The answer
cites exactly the passages (and clauses) its points came from, so its citations always verify. Deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.domains import DomainSpec
from assistant.generators.base import GenParams, Message
from assistant.generators.config import ExtractiveConfig
from assistant.grounding.asks import asks
from assistant.grounding.category import classify
from assistant.grounding.citations import passage_section
from assistant.grounding.format import render
from assistant.grounding.graph import InternalRef, internal_refs
from assistant.grounding.overlap import content_grams, names_article
from assistant.grounding.refs import short_section
from assistant.grounding.relevance import relevance, topic_words, weighted_coverage
from assistant.grounding.statements import Statement, readable_point, statements
from assistant.grounding.subject import (
    TITLE_WEIGHT,
    abbreviates,
    differential_statement,
    document_identity,
    titled_documents,
)
from knowledge.numerals import article_label, int_to_cn
from knowledge.types import Passage
from safety.types import Answer, Citation

# A statement that says what happens (the legal consequence, the thing to do) answers more than one
# that only shares the question's words.
_CONSEQUENCE = re.compile(
    r"应当|(?<![反适相对供响效顺感])应(?![用激答])|可以|不得|有权|承担|支付|赔偿|视为|无效|认定为|享受|增加|吊销|禁止|必须|免除|减轻|处.{0,12}(?:罚款|拘留|徒刑)"
)
# 「怎么办」「能要补偿吗」 is answered by a remedy or sanction (支付二倍的工资, 承担赔偿责任, 可以解除, 罚款), not by a bare
# duty (应当订立书面劳动合同): nearly every statute sentence says 应当, so the consequence bonus alone tells little.
_REMEDY_ASKED = re.compile(
    r"怎么办|如何处理|怎么处理|赔|补偿|罚|能要|可以要|要求|维权|追究|后果|责任|有效吗|合法吗|违法吗"
)
_REMEDY = re.compile(
    r"支付|赔偿|补偿|二倍|双倍|三倍|退还|返还|罚款|拘留|徒刑|吊销|无效|可以解除|有权|承担.{0,8}责任|责令|不影响"
)
_REMEDY_BONUS = 0.12
# 「…有效吗」「还有效吗」: the statement that rules on validity (其内容无效, 不影响租赁合同的效力) answers it.
_VALIDITY_ASKED = re.compile(r"有效吗|无效吗|有没有效|有效力|还有效|算数吗|作数吗")
_VALIDITY = re.compile(r"无效|有效|效力")
_VALIDITY_BONUS = 0.12
_NUMBER_ASKED = re.compile(
    r"多久|多长|多少|几天|几针|几次|几个|几年|怎么算|如何计算|怎样计算|标准|最长|最多|最低|多大|期限"
)
_ASKED_UNIT = re.compile(r"几(天|日|个月|月|年|小时|针|次|倍|周|岁)|多少(天|钱|元|岁|毫升|小时|次)")
_QUANTITY = re.compile(r"\d|百分之|[一二三四五六七八九十两半]+个?(?:日|天|月|年|小时|倍|周|针|剂|次|岁)")
# The law outranks the regulation implementing it, which outranks rules and interpretations.
_KIND_BONUS = {"法律": 0.15, "行政法规": 0.08, "部门规章": 0.0}
# What a patient asks for, and the guideline heading that answers it (症状 → 临床表现).
_SECTION_INTENTS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"症状|表现|什么感觉"), ("临床表现", "症状")),
    (
        re.compile(
            r"怎么治|治疗|用什么药|吃什么药|怎么办|怎么处理|用药|护理|照顾|吃药|药吗|抗生素|能治|治好"
        ),
        ("治疗", "处理", "处置", "救治", "护理"),
    ),
    (re.compile(r"预防|怎么防|避免"), ("预防",)),
    (re.compile(r"疫苗|接种|打针吗|打.{0,4}针吗"), ("疫苗", "接种", "免疫")),
    # 「是怎么传染的」 asks the route (传播途径), not who spreads it (传染源); 「会传染吗」 either
    (re.compile(r"(怎么|怎样|如何|通过什么|什么途径)\S{0,2}(传染|传播)|途径"), ("传播途径",)),
    (
        re.compile(r"(?<!怎么)(?<!怎样)(?<!如何)(?<!途径)(传染|传播)|怎么得"),
        ("传播途径", "流行病学", "传染源"),
    ),
    (re.compile(r"区别|鉴别|分辨"), ("鉴别",)),
    (re.compile(r"检查|诊断|确诊"), ("诊断", "检查")),
    (re.compile(r"重症|严重|危险|高危"), ("重症", "重型", "危重", "高危", "预警")),
    (re.compile(r"是什么|什么病|是一种|什么意思"), ("概述", "定义", "概念")),
]
# A guideline section of the kind the question asks for (症状 → 临床表现, 怎么处理 → 治疗) outweighs the ranker's
# confidence in another section of the same guideline (诺如 怎么处理: 九、治疗 over 一、病原学; tuned on the odd
# half of medical_everyday, neutral on medical_dev's hand-written questions).
_INTENT_WEIGHT = 0.3
# The learned ranker's confidence (score relative to the best retrieved passage) is the strongest single
# signal of which article governs; word coverage alone picks sentences that merely share more words.
_RETRIEVAL_WEIGHT = 0.2
# A point added for an ask the first points leave unanswered scores at least this share of the first point's.
_ASK_FLOOR = 0.8
# A later statement of an article must beat its opening statement by more than this to be quoted first.
_OPENING_MARGIN = 0.06
# How much lower (statement score) a 法律/行政法规 statement may score than a 司法解释/部门规章 one and still be
# quoted first (上位法, _higher_source), beyond the kind bonus every statement already has.
_HIGHER_MARGIN = 0.12
_LOWER_KINDS = frozenset({"司法解释", "部门规章"})
_HIGHER_KINDS = frozenset({"法律", "行政法规"})
# How much lower (statement score) the special law's near-identical rule may score and still be quoted first.
_SPECIAL_MARGIN = 0.3
# 「有哪些途径」「哪几种」: the question asks for the whole list, not the item that shares most words.
_LIST_ASKED = re.compile(r"哪些|哪几|几种|什么途径|什么情形|什么情况下")
_DESCRIPTION_ASKED = re.compile(r"哪些|哪几|什么样|症状|表现|是什么")


@dataclass(frozen=True)
class _Scored:
    score: float
    rank: int  # passage rank in the basis
    st: Statement
    own: float = 0.0  # how well a list item's own words (without the shared lead-in) cover the question


def _cite(p: Passage, clause: str = "", section: str = "") -> Citation:
    """The (unverified) citation of a passage: its article (and clause), or a guideline's section."""
    return Citation(
        law=p.law,
        article_no=p.article_no,
        article_label=p.article_label or article_label(p.article_no),
        clause=clause if p.article_no is not None else "",
        section=(section or passage_section(p)) if p.article_no is None else "",
    )


class ExtractiveGenerator:
    """Builds 【分类】/【要点】/【依据】 from the retrieved passages in `params` (the messages are ignored)."""

    kind = "extractive"
    model_name = "extractive"

    def __init__(self, config: ExtractiveConfig | None = None) -> None:
        self.config = config or ExtractiveConfig()

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        domain: DomainSpec,
        weights: Mapping[str, float] | None = None,
    ) -> Answer:
        """The structured answer (unverified citations without text; the pipeline fills the verbatim text).

        An article the question names exactly is answered from its own statements; otherwise the
        statements that answer the question best (see the module docstring). `weights` are the question
        words' corpus weights (uniform when absent).
        """
        named = [i for i, p in enumerate(passages) if names_article(question, p)]
        if named:
            own = [s for s in statements(passages[named[0]], self.config.max_sentence_chars)]
            own = [s for s in own if not s.catch_all] or own
            groups = [[_Scored(0.0, named[0], s)] for s in own[: self.config.max_points]]
        else:
            groups = self._select(question, passages, domain, weights or {})
        points: list[str] = []
        used: list[tuple[int, str]] = []  # (passage rank, guideline section) in order of first use
        clauses: dict[tuple[int, str], set[str]] = {}
        for group in groups:
            rank, section = group[0].rank, group[0].st.section
            p = passages[rank]
            text, clause = _point_text(group)
            text = readable_point(text) if p.article_no is None else text
            cite = _cite(p, clause, section)
            short = cite.model_copy(update={"section": short_section(cite.section)}) if cite.section else cite
            points.append(f"{text.rstrip('；;。，,')}（{short.ref}）")
            if (rank, section) not in used:
                used.append((rank, section))
            clauses.setdefault((rank, section), set()).add(clause)
        citations = [
            _cite(passages[r], next(iter(clauses[(r, sec)])) if len(clauses[(r, sec)]) == 1 else "", sec)
            for r, sec in used
        ]
        cited = [passages[r] for r in dict.fromkeys(r for r, _ in used)]
        return Answer(
            category=classify(question, cited or passages, domain), points=points, citations=citations
        )

    def _select(
        self, question: str, passages: Sequence[Passage], domain: DomainSpec, weights: Mapping[str, float]
    ) -> list[list[_Scored]]:
        words = topic_words(question)
        synonyms = domain.synonyms_for(question)
        asks_number = bool(_NUMBER_ASKED.search(question))
        # Statute passages only (legal): a guideline's 「怎么办」 asks for treatment, not a remedy.
        remedy_asked = bool(_REMEDY_ASKED.search(question))
        validity_asked = bool(_VALIDITY_ASKED.search(question))
        asked = _ASKED_UNIT.search(question)
        unit = next((g for g in asked.groups() if g), "") if asked else ""  # 几天 → a number of 天
        scored: list[_Scored] = []
        top_score = max((p.score for p in passages), default=0.0)
        # 「有哪些症状」「出现哪些情况」 ask what a disease looks like: a guideline's signs carry no 应/可以.
        describes = bool(_DESCRIPTION_ASKED.search(question))
        # The primary source first (retrieval.prefer_titled): a guideline titled after what is asked.
        titled = titled_documents(question, passages, domain) if domain.retrieval.prefer_titled else set()
        for rank, p in enumerate(passages):
            confidence = p.score / top_score if top_score > 0 else 0.0
            whole = relevance(question, p, weights, synonyms, words).score
            own = statements(p, self.config.max_sentence_chars)
            own = [s for s in own if not s.catch_all] or own
            # A guideline's every statement is about its disease, however the question shortens its name
            # (流感 for 流行性感冒, 新冠 for 新型冠状病毒感染): no statement wins merely by repeating it.
            named = " ".join(w for w in words if p.article_no is None and abbreviates(w, p.law))
            for st in own:
                section = st.section or passage_section(p)
                if differential_statement(section, question):
                    continue  # another disease, described only to tell it apart (鉴别诊断)
                # A numbered guideline article (狂犬病暴露预防处置工作规范第十一条) is cited by number, but its chapter
                # (第三章 疫苗接种和被动免疫制剂的使用) still says what it is about.
                heading = section or (getattr(p, "section", "") if getattr(p, "is_guideline", False) else "")
                intent = _INTENT_WEIGHT if _asks_this_section(question, heading) else 0.0
                context = f"{p.law} {named} {section}"
                part = weighted_coverage(words, weights, f"{context} {st.text}", question, synonyms)
                score = 0.6 * part + 0.4 * whole
                score += (
                    0.08
                    if _CONSEQUENCE.search(st.text) and (p.article_no is not None or not describes)
                    else 0.0
                )
                if p.article_no is not None:
                    said = st.text  # a list item with its lead-in (…应当支付经济补偿：…)
                    score += _REMEDY_BONUS if remedy_asked and _REMEDY.search(said) else 0.0
                    score += _VALIDITY_BONUS if validity_asked and _VALIDITY.search(said) else 0.0
                score += 0.08 if asks_number and _QUANTITY.search(st.item or st.text) else 0.0
                score += (
                    0.08
                    if unit and re.search(rf"[\d一二三四五六七八九十两半百千]\s*{unit}", st.item or st.text)
                    else 0.0
                )
                score += _KIND_BONUS.get(getattr(p, "kind", ""), 0.0) + intent
                # Ties go to better-retrieved passages and to a passage's leading statements.
                score += 0.04 / (1 + rank) + 0.01 / (1 + st.pos)
                score += _RETRIEVAL_WEIGHT * confidence + (TITLE_WEIGHT if p.law in titled else 0.0)
                own_part = weighted_coverage(words, weights, st.item, question, synonyms) if st.item else part
                scored.append(_Scored(round(score, 6), rank, st, round(own_part, 6)))
        if not scored:
            return []
        order = sorted(scored, key=lambda t: (-t.score, t.rank, t.st.pos))
        best = _higher_source(_special_law(_opening_rule(order[0], order), order, passages), order, passages)
        wants_list = bool(_LIST_ASKED.search(question))
        passage_best: dict[int, float] = {}
        for t in order:
            passage_best.setdefault(t.rank, t.score)
        groups: list[list[_Scored]] = [self._with_siblings(best, order, whole=wants_list)]
        taken = {(t.rank, t.st.pos) for t in groups[0]}
        follow = self._cross_reference(best, passages, order)
        if follow is not None and (follow.rank, follow.st.pos) not in taken:
            groups.append([follow])
            taken.add((follow.rank, follow.st.pos))
        per_passage = {best.rank: 1}
        texts = {t.st.text for g in groups for t in g}
        leads = {(g[0].rank, g[0].st.lead) for g in groups if g[0].st.lead}
        for t in order[1:]:
            if len(groups) >= self.config.max_points:
                break
            if (t.rank, t.st.pos) in taken or t.st.text in texts:
                continue
            if t.st.lead and (t.rank, t.st.lead) in leads:
                continue  # that list was quoted already (with the items that answer)
            # Nothing far weaker than the best; no point from an article not really about the question;
            # two statements per article at most.
            if t.score < 0.8 * best.score or passage_best[t.rank] < 0.75 * best.score:
                continue
            # Another document must answer nearly as well as the first point's to add a point; a guideline
            # answer stays inside its guideline (two diseases' advice are never mixed).
            if document_identity(passages[t.rank]) != document_identity(passages[best.rank]) and (
                passage_best[t.rank] < 0.9 * best.score or getattr(passages[best.rank], "is_guideline", False)
            ):
                continue
            if per_passage.get(t.rank, 0) >= 2:
                continue
            group = self._with_siblings(t, order)
            groups.append(group)
            taken.update((x.rank, x.st.pos) for x in group)
            texts.update(x.st.text for x in group)
            if t.st.lead:
                leads.add((t.rank, t.st.lead))
            per_passage[t.rank] = per_passage.get(t.rank, 0) + 1
        return _one_point_per_ask(groups, order, passages, question, domain, self.config.max_points)

    @staticmethod
    def _with_siblings(top: _Scored, order: list[_Scored], whole: bool = False) -> list[_Scored]:
        """A list item with the other items of its list that answer nearly as well (the whole list when
        the question asks about all of it: 150 % / 200 % / 300 %, 「有哪些途径」), in the list's order."""
        if not top.st.lead:
            return [top]
        siblings = [
            t
            for t in order
            if t.rank == top.rank
            and t.st.lead == top.st.lead
            and (whole or (t.own >= 0.9 * top.own and t.score >= 0.8 * top.score))
        ]
        return sorted(siblings, key=lambda t: t.st.pos)[:5]

    @staticmethod
    def _cross_reference(top: _Scored, passages: Sequence[Passage], order: list[_Scored]) -> _Scored | None:
        """The rule of the retrieved article the first point relies on (依照本法第四十七条… → 第四十七条's
        opening statement: the rule itself, not a detail that happens to share more words); the very 项 or
        款 when the reference names it (依照本法第四十四条第一项 → 第四十四条第（一）项)."""
        law = passages[top.rank].law
        for ref in internal_refs(top.st.item or top.st.text):
            found = [
                t
                for t in order
                if t.rank != top.rank
                and passages[t.rank].law == law
                and passages[t.rank].article_no == ref.article_no
            ]
            if not found:
                continue
            if ref.item or ref.paragraph:  # to the 项/款 it names, not the article's opening
                named = [t for t in found if _in_clause(t.st.clause, ref)]
                found = named or found
            return min(found, key=lambda t: t.st.pos)
        return None

    def generate(self, messages: Sequence[Message], params: GenParams) -> str:
        """Render the extractive answer as text (the same text every time for the same inputs)."""
        if params.domain is None:
            raise ValueError("the extractive generator needs params.domain")
        if not params.passages:
            raise ValueError("the extractive generator needs retrieved passages")
        answer = self.answer(params.question, params.passages, params.domain, params.term_weights)
        return render(answer, with_text=False)

    def resolve_adapter(self, adapter: str | None) -> str | None:
        """No adapters: the composer always runs as itself."""
        return None

    def adapter_path(self, adapter: str | None) -> Path | None:
        """No adapter directories."""
        return None

    def close(self) -> None:
        """Nothing to release."""


def _opening_rule(best: _Scored, order: list[_Scored]) -> _Scored:
    """The article's opening statement instead of a later one of the same passage that scores only a
    little higher: the opening states the rule (每满一年支付一个月工资), what follows details it."""
    # In an article of several paragraphs, a paragraph's first statement only (款 openings): 民法典第七百一十六条's
    # 第二款 「承租人未经出租人同意转租的，出租人可以解除合同」 is not displaced by the middle of 第一款. (Guideline
    # passages and one-paragraph articles carry no 款: any earlier statement, as before.)
    openings: dict[str, int] = {}
    for t in order:
        if t.rank == best.rank:
            key = _paragraph(t.st.clause)
            openings[key] = min(openings.get(key, t.st.pos), t.st.pos)
    earlier = [
        t
        for t in order
        if t.rank == best.rank
        and t.st.pos < best.st.pos
        and not t.st.lead
        and (not best.st.clause or openings.get(_paragraph(t.st.clause)) == t.st.pos)
        and t.score >= best.score - _OPENING_MARGIN
    ]
    return min(earlier, key=lambda t: t.st.pos) if earlier and not best.st.lead else best


def _special_law(best: _Scored, order: list[_Scored], passages: Sequence[Passage]) -> _Scored:
    """特别法优于一般法: when a more specific law of the same kind (劳动合同法 beside 劳动法 — its name
    holds the general law's name) states the same rule nearly word for word, quote that law."""
    general = passages[best.rank]
    base = _short_name(general.law)
    mine = content_grams(best.st.item or best.st.text)
    for t in order:
        special = passages[t.rank]
        if (
            t.rank == best.rank
            or special.law == general.law
            or getattr(special, "kind", "") != getattr(general, "kind", "")
        ):
            continue
        if t.score < best.score - _SPECIAL_MARGIN or not _specialises(_short_name(special.law), base):
            continue
        theirs = content_grams(t.st.item or t.st.text)
        if mine and theirs and 2 * len(mine & theirs) / (len(mine) + len(theirs)) >= 0.6:
            return t
    return best


def _paragraph(clause: str) -> str:
    """The 款 a statement's clause lies in (第二款 of 第二款第（一）项); '' for a one-paragraph article."""
    found = re.match(r"第[一二三四五六七八九十]+款", clause)
    return found.group(0) if found else ""


def _higher_source(best: _Scored, order: list[_Scored], passages: Sequence[Passage]) -> _Scored:
    """上位法: a rule a 司法解释 or 部门规章 states is quoted from a 法律 or 行政法规 in the basis whose statement scores
    nearly as well (within `_HIGHER_MARGIN`): 侵害消费者权益行为处罚办法第九条 restates 消费者权益保护法第二十五条's
    seven-day return; the interpretation of 交强险 comes after 民法典第一千二百一十三条."""
    if getattr(passages[best.rank], "kind", "") not in _LOWER_KINDS:
        return best
    for t in order:
        if t.score < best.score - _HIGHER_MARGIN:
            break
        if getattr(passages[t.rank], "kind", "") in _HIGHER_KINDS:
            return t
    return best


def _short_name(law: str) -> str:
    return law.removeprefix("中华人民共和国").removesuffix("法")


def _specialises(special: str, general: str) -> bool:
    """劳动合同 specialises 劳动: the general name's characters appear in order in the longer name."""
    if len(special) <= len(general) or not general:
        return False
    it = iter(special)
    return all(ch in it for ch in general)


def _in_clause(clause: str, ref: InternalRef) -> bool:
    """Whether a statement's clause (第一款第（五）项) lies in the 款/项 a reference names (a one-paragraph
    article's clause names no 款: it is the 第一款)."""
    if ref.paragraph:
        para = f"第{int_to_cn(ref.paragraph)}款"
        if not (clause.startswith(para) or (ref.paragraph == 1 and "款" not in clause)):
            return False
    return not ref.item or clause.endswith(f"第（{int_to_cn(ref.item)}）项")


def _one_point_per_ask(
    groups: list[list[_Scored]],
    order: list[_Scored],
    passages: Sequence[Passage],
    question: str,
    domain: DomainSpec,
    max_points: int,
) -> list[list[_Scored]]:
    """Statute answers: every ask of the question (`grounding.asks`: 辞职 and 补偿 in 「能辞职并要补偿吗」) gets
    a point that says it, the best-scoring statement saying it (never far weaker than the first point), in a
    free place; when the first ask is the asker's own act (「我想辞职，还能拿到补偿吗」), the point saying it
    leads (第三十八条 劳动者可以解除劳动合同, not an administrative order to pay). Guideline answers are left as
    they are."""
    if not groups or passages[groups[0][0].rank].article_no is None:
        return groups
    wanted = asks(question, domain)
    if not wanted:
        return groups
    taken = {(t.rank, t.st.pos) for g in groups for t in g}
    floor = _ASK_FLOOR * groups[0][0].score
    for ask in wanted:
        if any(ask.said_by(_point_text(g)[0]) for g in groups):
            continue
        found = next(
            (
                t
                for t in order
                if (t.rank, t.st.pos) not in taken
                and t.score >= floor
                and passages[t.rank].article_no is not None
                and ask.said_by(t.st.text)
            ),
            None,
        )
        if found is None:
            continue
        if len(groups) >= max_points:
            break
        group = ExtractiveGenerator._with_siblings(found, order)
        groups = [*groups, group]
        taken.update((t.rank, t.st.pos) for t in group)
    if not wanted[0].intended or wanted[0].said_by(_point_text(groups[0])[0]):
        return groups
    # 「我想辞职…」: the point saying the asker may do it leads, the consequences follow.
    first = next((i for i, g in enumerate(groups) if wanted[0].said_by(_point_text(g)[0])), 0)
    return [groups[first], *groups[:first], *groups[first + 1 :]] if first else groups


def _point_text(group: list[_Scored]) -> tuple[str, str]:
    """(point text, clause) for one statement, or for items of one list quoted together."""
    if len(group) == 1:
        return group[0].st.text, group[0].st.clause
    lead = group[0].st.lead
    items = "；".join(f"（{_item_no(t.st.clause)}）{t.st.item}" for t in group)
    return f"{lead}：{items}", ""


def _item_no(clause: str) -> str:
    m = re.search(r"第（([一二三四五六七八九十]+)）项", clause)
    return m.group(1) if m else ""


def _asks_this_section(question: str, section: str) -> bool:
    """True when the guideline section is the kind the question asks for (症状 → 临床表现, 怎么治 → 治疗)."""
    if not section:
        return False
    last = section.split(">")[-1]
    return any(ask.search(question) and any(h in last for h in heads) for ask, heads in _SECTION_INTENTS)
