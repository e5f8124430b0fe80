"""上位法 (issue 10): a rule a 司法解释 or 部门规章 states is quoted first from the 法律 in the basis that states it,
when the law's statement answers nearly as well. 「出了交通事故，是先由交强险赔偿吗？」 was answered first from the
交强险 interpretation (多辆机动车…部分机动车未投保交强险…) before 民法典第一千二百一十三条, the rule itself."""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.generators.extractive import ExtractiveGenerator
from knowledge.types import Passage

LEGAL = load_domains()["legal"]
QUESTION = "出了交通事故，是先由交强险赔偿吗？"
INTERPRETATION_TITLE = "最高人民法院关于审理道路交通事故损害赔偿案件适用法律若干问题的解释"


def _article(law: str, no: int, kind: str, text: str, score: float) -> Passage:
    return Passage(
        id=f"{law}#{no}", domain="legal", law=law, law_full=law, article_no=no, article_label=f"第{no}条",
        text=text, kind=kind, score=score,
    )  # fmt: skip


INTERPRETATION = _article(
    INTERPRETATION_TITLE, 18, "司法解释",
    "多辆机动车发生交通事故造成第三人损害，其中部分机动车未投保交强险，当事人请求先由已承保交强险的保险公司在责任限额"
    "范围内予以赔偿的，人民法院应予支持。",
    0.9,
)  # fmt: skip
LAW = _article(
    "民法典", 1213, "法律",
    "机动车发生交通事故造成损害，属于该机动车一方责任的，先由承保机动车强制保险的保险人在强制保险责任限额范围内予以赔偿。",
    0.1,  # the ranker is far less sure of it: on statement score it comes second, by a little
)  # fmt: skip
ELSEWHERE = _article("民法典", 577, "法律", "当事人一方不履行合同义务的，应当承担违约责任。", 0.3)


def test_the_law_is_quoted_before_the_interpretation_of_it() -> None:
    answer = ExtractiveGenerator().answer(QUESTION, [INTERPRETATION, LAW], LEGAL)
    assert [c.law for c in answer.citations][:1] == ["民法典"]
    assert "强制保险责任限额范围内予以赔偿" in answer.points[0]


def test_a_law_that_answers_far_worse_does_not_take_the_first_place() -> None:
    answer = ExtractiveGenerator().answer(QUESTION, [INTERPRETATION, ELSEWHERE], LEGAL)
    assert answer.citations[0].law == INTERPRETATION_TITLE


SUBLET = _article(
    "民法典", 716, "法律",
    "承租人经出租人同意，可以将租赁物转租给第三人。承租人转租的，承租人与出租人之间的租赁合同继续有效；第三人造成租赁物损失"
    "的，承租人应当赔偿损失。\n承租人未经出租人同意转租的，出租人可以解除合同。",
    0.9,
)  # fmt: skip


def test_a_paragraph_is_not_displaced_by_the_middle_of_the_one_before() -> None:
    """The opening-statement preference (an article's opening states its rule) reaches back to a paragraph's
    opening only: 第二款 answers 「没经过房东同意把房子转租出去」, 第一款's second sentence does not."""
    # the corpus weights of the question words (relevance.corpus_weights on the full corpus)
    weights = {"租客": 9.0, "经过": 4.9, "房东": 9.0, "同意": 3.77, "房子": 9.0, "转租": 8.65, "出去": 9.0}
    answer = ExtractiveGenerator().answer(
        "租客没经过房东同意把房子转租出去，房东怎么办？", [SUBLET], LEGAL, weights
    )
    assert answer.points[0].startswith("承租人未经出租人同意转租的，出租人可以解除合同")
