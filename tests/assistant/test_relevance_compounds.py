"""The relevance gate's question words: a verb + complement compound the corpus never uses (买来, 扔掉)
is weighed and covered by its verb, so it cannot outweigh the question's topic (medical M37: 「抗生素可以
自己随便买来吃吗？」 was refused because 买来 took the IDF cap while the passage says 购买)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from assistant.grounding.relevance import complement_verb, corpus_weights, relevance, topic_words
from knowledge.sparse import BM25Index
from knowledge.textproc import tokenize
from knowledge.types import Passage

_DOCS = [
    "购买药品要到合法的医疗机构和药店，处方药凭执业医师处方方可购买。抗生素应遵医嘱使用。",
    "买卖合同是出卖人转移标的物的所有权于买受人，买受人支付价款的合同。",
    "买方应当按照约定的时间支付价款。",
    "用人单位应当按照劳动合同约定向劳动者支付劳动报酬。",
    "国家实行最低工资保障制度。最低工资的具体标准由省、自治区、直辖市人民政府规定。",
    "不得随意丢弃药品，过期药品应当交回。买了药要看说明书。",  # 买 as a word of its own
    "当事人自收到判决书之日起十五日内可以上诉。收费标准由价格主管部门核定。",
]


def _kb() -> SimpleNamespace:
    index = BM25Index.build([tokenize(d) for d in _DOCS])
    return SimpleNamespace(snapshot=lambda: SimpleNamespace(bm25=index))


def _guide(text: str) -> Passage:
    return Passage(
        id="健康素养@#43", domain="medical", law="健康素养", law_full="健康素养", text=text,
        section="43. 合理用药", kind="指南",
    )  # fmt: skip


def test_the_index_knows_the_verb_but_not_the_compound() -> None:
    # The premise of the tests below: jieba keeps 买来 whole, and no document uses it.
    assert "买来" in tokenize("抗生素可以自己随便买来吃吗？")
    vocab = BM25Index.build([tokenize(d) for d in _DOCS]).vocab
    assert "买来" not in vocab and "买" in vocab


@pytest.mark.parametrize(
    ("word", "verb"),
    [("买来", "买"), ("扔掉", "扔"), ("送去", "送"), ("拿走", "拿"),
     ("将来", ""), ("未来", ""), ("迟到", ""), ("得到", ""), ("回来", ""), ("出来", ""), ("加州", "")],
)  # fmt: skip
def test_complement_verb_is_found_only_in_verb_complement_compounds(word: str, verb: str) -> None:
    assert complement_verb(word) == verb


def test_an_absent_compound_weighs_what_its_verb_weighs() -> None:
    weights = corpus_weights(_kb())(["买来", "买", "加州", "抗生素"])
    assert weights["买来"] == pytest.approx(weights["买"])
    # an absent name keeps the most an absent word weighs, log(N + 1): it is an absent topic
    assert weights["买来"] < weights["加州"] == pytest.approx(math.log(len(_DOCS) + 1))


def test_a_question_with_an_absent_compound_passes_the_gate_on_its_topic() -> None:
    question = "抗生素可以自己随便买来吃吗？"
    words = topic_words(question)
    assert words == ["抗生素", "买来"]
    weights = corpus_weights(_kb())(words)
    passage = _guide(_DOCS[0])
    rel = relevance(question, passage, weights, None, words)
    assert rel.score >= 0.99 and rel.missing == []  # old code: 0.5 share of 买来 → score ≈ 0.5, 买来 missing


def test_the_compound_is_still_missing_when_the_passage_never_says_its_verb() -> None:
    question = "抗生素可以自己随便买来吃吗？"
    weights = corpus_weights(_kb())(topic_words(question))
    rel = relevance(question, _guide("抗生素应遵医嘱使用，不可滥用。"), weights)
    assert rel.missing == ["买来"] and rel.score < 0.6


def test_a_compound_the_corpus_uses_is_covered_only_by_itself() -> None:
    question = "收到判决书后多久可以上诉？"
    weights = corpus_weights(_kb())(topic_words(question))
    assert "收" not in weights  # 收到 has its own IDF: no fallback
    rel = relevance(question, _guide("判决书送达后，收费标准另行规定，当事人可以上诉。"), weights)
    assert "收到" in rel.missing


def test_an_absent_name_still_makes_a_question_without_basis() -> None:
    question = "美国加州的最低工资标准是多少？"
    weights = corpus_weights(_kb())(topic_words(question))
    rel = relevance(question, _guide(_DOCS[4]), weights)
    assert "加州" in rel.missing and rel.score < 0.6
