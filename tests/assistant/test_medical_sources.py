"""Which source a medical answer rests on (issue 9): the health statutes ranked by a profile that knows
statutes, and a guideline titled after what is asked before a compendium retelling it."""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.generators.extractive import ExtractiveGenerator
from assistant.grounding.basis import judge_basis
from assistant.grounding.subject import titled_documents
from assistant.pipeline.retrieve import fill_statute_places
from knowledge.types import Passage

MEDICAL = load_domains()["medical"]
RABIES = "狂犬病暴露预防处置工作规范（2023年版）"
LITERACY = "中国公民健康素养——基本知识与技能释义（2024年版）"


def _article(law: str, no: int, text: str = "条文。", score: float = 0.5, kind: str = "行政法规") -> Passage:
    return Passage(
        id=f"{law}#{no}", domain="medical", law=law, law_full=law, text=text, article_no=no, kind=kind,
        score=score,
    )  # fmt: skip


def _guide(title: str, section: str, text: str, score: float = 0.5, no: int | None = None) -> Passage:
    return Passage(
        id=f"{title}#{section}#{no}", domain="medical", law=title, law_full=title, text=text, section=section,
        sections=[section], kind="指南", score=score, article_no=no,
    )  # fmt: skip


def test_statute_places_take_both_rankings_statutes_alternately() -> None:
    flu = _guide("流行性感冒诊疗方案（2025年版）", "十、治疗", "发病48小时内抗病毒治疗。", score=0.9)
    own = [flu, _article("医疗机构管理条例", 33, score=0.4), _article("医师法", 27, score=0.2)]
    other = [
        _article("医疗纠纷预防和处理条例", 15, score=0.03),
        _article("医师法", 27, score=0.02),  # already the domain's: taken once
        _article("医疗事故处理条例", 8, score=0.01),
    ]
    out = fill_statute_places(own, other)
    assert out[0] is flu  # a guideline place is untouched
    assert [(p.law, p.article_no) for p in out[1:]] == [("医疗机构管理条例", 33), ("医疗纠纷预防和处理条例", 15)]
    # each place keeps its score: the two profiles' probabilities are not on one scale
    assert [p.score for p in out] == [0.9, 0.4, 0.2]
    # a numbered guideline article is not a statute place
    numbered = _guide(RABIES, "第三章 疫苗接种和被动免疫制剂的使用", "5针免疫程序。", no=11)
    assert fill_statute_places([numbered], other) == [numbered]


# The compendium retells the rabies norm under a heading naming everything the question says; the norm is the
# primary source and is cited by article.
RETELLING = _guide(
    LITERACY,
    "一、基本知识和理念 > 13. 家养犬、猫应接种兽用狂犬病疫苗；人被犬、猫抓伤、咬伤后，应立即冲洗、消毒伤口，并尽早注射狂犬病人免疫球蛋白和人用狂犬病疫苗。",
    "全程接种后3个月及以上再次暴露者，应于0和3天各加强接种1剂次疫苗。",
    score=0.4,
)  # fmt: skip
NORM = _guide(
    RABIES, "第三章 疫苗接种和被动免疫制剂的使用",
    "5针免疫程序：于0、3、7、14和28天各注射狂犬病疫苗1剂次，共注射5剂次。", score=0.1, no=11,
)  # fmt: skip


def test_a_guideline_titled_after_the_question_is_the_primary_source() -> None:
    question = "狂犬病疫苗一共要打几针？"
    assert titled_documents(question, [RETELLING, NORM], MEDICAL) == {RABIES}
    # statutes are never 'titled': their titles name whole fields (疫苗管理法 for any vaccine question)
    assert titled_documents("打疫苗有什么副作用？", [_article("疫苗管理法", 56, kind="法律")], MEDICAL) == set()
    decision = judge_basis(question, [RETELLING, NORM], MEDICAL)
    assert [p.law for p in decision.passages][:1] == [RABIES]
    answer = ExtractiveGenerator().answer(question, decision.passages, MEDICAL)
    assert answer.citations[0].law == RABIES and "5剂次" in answer.points[0]


def test_without_the_preference_the_ranker_favourite_retelling_wins() -> None:
    # The same question in a domain that does not prefer titled documents: the behaviour the setting changes.
    plain = MEDICAL.model_copy(
        update={"retrieval": MEDICAL.retrieval.model_copy(update={"prefer_titled": False})}
    )
    decision = judge_basis("狂犬病疫苗一共要打几针？", [RETELLING, NORM], plain)
    assert [p.law for p in decision.passages][:1] == [LITERACY]
