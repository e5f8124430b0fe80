"""The relevance gate forgives a question's story, not its subject (issue 10: questions with real-life detail).

「每天干到晚上十点，老板不给加班费」 was 〔无依据〕: the story's words (晚上, 十点, 物流) are the rarest in the
corpus, so the article that governs the question (劳动法第四十四条) looked like no answer. A question whose
legal core (the words the domain vocabulary knows, at least two) a passage covers wholly need not have its
story covered; names (新加坡) are always owed, and one vocabulary word alone is no legal question.
"""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.grounding.basis import judge_basis
from assistant.grounding.relevance import topic_words
from assistant.grounding.scope import core_words, is_name, narrative_words
from knowledge.types import Passage

LEGAL = load_domains()["legal"]
STRICT = LEGAL.model_copy(
    update={"retrieval": LEGAL.retrieval.model_copy(update={"forgive_narrative": False})}
)
# Corpus IDF of the words statutes use (the rest weighs the cap, as words no article uses do).
_STATUTE_WORDS = {
    "公司": 3.9,
    "工资": 5.1,
    "员工": 4.0,
    "加班费": 7.8,
    "合法": 3.0,
    "电动车": 7.0,
    "续航": 9.0,
}


def _law(law: str, no: int, text: str, score: float, kind: str = "法律") -> Passage:
    return Passage(
        id=f"{law}#{no}", domain="legal", law=law, law_full=law, article_no=no, article_label=f"第{no}条",
        text=text, kind=kind, score=score,
    )  # fmt: skip


def _weights(question: str) -> dict[str, float]:
    return {w: _STATUTE_WORDS.get(w, 9.0) for w in topic_words(question)}


OVERTIME = _law(
    "劳动法", 44,
    "有下列情形之一的，用人单位应当按照下列标准支付高于劳动者正常工作时间工资的工资报酬：\n"
    "（一）安排劳动者延长工作时间的，支付不低于工资的百分之一百五十的工资报酬；",
    0.29,
)  # fmt: skip
LEAVE_PAY = _law(
    "企业职工带薪年休假实施办法", 11,
    "前款所称月工资是指职工在用人单位支付其未休年休假工资报酬前12个月剔除加班工资后的月平均工资。在物流、计件等岗位的，"
    "按实际工作时间计算。",
    0.02, kind="部门规章",
)  # fmt: skip
EBIKE = _law(
    "道路交通安全法", 58, "残疾人机动轮椅车、电动自行车在非机动车道内行驶时，最高时速不得超过十五公里。", 0.4
)

STORY = "我在一家物流公司上班，每天从早上九点干到晚上十点，老板说计件的没有加班费，这合法吗？"


def test_the_legal_core_is_what_the_vocabulary_knows_and_the_story_is_the_rest() -> None:
    words = topic_words(STORY)
    assert {"公司", "老板", "加班费"} <= set(core_words(words, LEGAL))
    story = narrative_words(words, LEGAL, _weights(STORY))
    assert {"晚上", "物流", "计件"} <= set(story) and "加班费" not in story
    # a statute word is never story, however incidental: statutes say it, a passage can be asked to
    assert "公司" not in narrative_words(words, LEGAL, {**_weights(STORY), "公司": 3.9})


def test_names_are_always_owed() -> None:
    assert is_name("新加坡") and is_name("Excel") and not is_name("晚上")


def test_a_covered_core_forgives_the_story() -> None:
    # premise: on every word, the governing article covers too little of this question
    assert judge_basis(STORY, [OVERTIME], STRICT, _weights(STORY)).passages == []
    assert judge_basis(STORY, [OVERTIME], LEGAL, _weights(STORY)).passages == [OVERTIME]


def test_a_name_the_passage_lacks_still_makes_it_no_answer() -> None:
    question = "新加坡的公司晚上加班有加班费吗？"
    assert narrative_words(topic_words(question), LEGAL, _weights(question)) == ["晚上"]
    decision = judge_basis(question, [OVERTIME], LEGAL, _weights(question))
    assert decision.passages == [] and "新加坡" in decision.missing


def test_one_vocabulary_word_is_no_legal_question() -> None:
    question = "哪款电动车晚上续航最长？"  # 电动车 alone: a shopping question
    assert judge_basis(question, [EBIKE], LEGAL, _weights(question)).passages == []


def test_the_article_the_ranker_is_sure_of_is_not_outscored_by_a_story_match() -> None:
    # The holiday-pay rule shares the story's words (物流, 计件) and passes on every word; the overtime
    # article the ranker is sure of covers the whole legal core: it comes first, the other is not dropped.
    strict = judge_basis(STORY, [LEAVE_PAY, OVERTIME], STRICT, _weights(STORY)).passages
    assert strict == [LEAVE_PAY]
    assert judge_basis(STORY, [LEAVE_PAY, OVERTIME], LEGAL, _weights(STORY)).passages[0] == OVERTIME
