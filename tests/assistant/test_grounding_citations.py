"""Citation parsing and verification against retrieved passages (assistant.grounding.citations)."""

from __future__ import annotations

import pytest

from assistant.grounding import (
    REMOVED_CITATION,
    find_citations,
    ground,
    normalize_law,
    parse_citation,
    verify_citations,
)
from knowledge.numerals import int_to_cn
from knowledge.types import Passage
from safety.types import Answer, Citation


@pytest.mark.parametrize(
    ("text", "law", "no"),
    [
        ("《劳动合同法》第四十七条", "劳动合同法", 47),
        ("《中华人民共和国劳动合同法》第47条", "劳动合同法", 47),
        ("中华人民共和国民法典第一千一百六十五条", "民法典", 1165),
        ("劳动合同法（2012修正）第 47 条", "劳动合同法", 47),
        ("《医疗机构管理条例》第二十四条", "医疗机构管理条例", 24),
        ("《刑法》", "刑法", None),
    ],
)
def test_parse_citation(text: str, law: str, no: int | None) -> None:
    assert parse_citation(text) == (law, no)


def test_parse_citation_rejects_non_citations() -> None:
    with pytest.raises(ValueError):
        parse_citation("今天天气不错")


def test_find_citations_in_prose() -> None:
    text = "依据《劳动合同法》第四十七条和民法典第一千一百六十五条，以及《刑法》。这个方法不是法律。"
    assert find_citations(text) == [("劳动合同法", 47), ("民法典", 1165), ("刑法", None)]


def test_normalize_law() -> None:
    assert normalize_law("《中华人民共和国劳动合同法》") == "劳动合同法"
    assert normalize_law("中华人民共和国劳动合同法(2012修正)") == "劳动合同法"
    assert normalize_law("  劳动合同法 ") == "劳动合同法"


def _p(
    law: str, no: int | None, text: str, version: str = "2012-12-28", label: str = "", score: float = 0.0
) -> Passage:
    return Passage(
        id=f"{law}@{version}#{no if no is not None else label}",
        domain="legal",
        law=law,
        law_full=f"中华人民共和国{law}",
        article_no=no,
        article_label=label or (f"第{int_to_cn(no)}条" if no is not None else ""),
        text=text,
        version=version,
        score=score,
    )


PASSAGES = [
    _p("劳动合同法", 47, "经济补偿按劳动者在本单位工作的年限，每满一年支付一个月工资的标准向劳动者支付。"),
    _p("劳动合同法", 38, "用人单位有下列情形之一的，劳动者可以解除劳动合同：……"),
    _p("民法典", 1165, "行为人因过错侵害他人民事权益造成损害的，应当承担侵权责任。", version="2020-05-28"),
]


def test_verify_keeps_matches_with_verbatim_text_and_removes_inventions() -> None:
    answer = Answer(
        category="劳动合同",
        points=["可以解除并要求经济补偿"],
        citations=[
            Citation(law="《中华人民共和国劳动合同法》", article_label="第47条", text="生成器自己写的条文"),
            Citation(law="劳动合同法", article_no=38),
            Citation(law="劳动合同法", article_no=48),  # misnumbered: not retrieved
            Citation(law="劳动法", article_no=47),  # wrong law, same number
            Citation(law="《民法典》第一千一百六十五条"),  # whole citation string in law
            Citation(law="反不正当竞争法", article_no=1),  # invented
            Citation(law="劳动合同法", article_label="第四十七条"),  # duplicate of the first
        ],
    )
    check = verify_citations(answer, PASSAGES)
    assert not check.ok
    kept = check.answer.citations
    assert [(c.law, c.article_no) for c in kept] == [("劳动合同法", 47), ("劳动合同法", 38), ("民法典", 1165)]
    by_id = {p.id: p for p in PASSAGES}
    for c in kept:
        assert c.passage_id in by_id
        assert c.text == by_id[c.passage_id].text  # verbatim from the knowledge base, not the generator
        assert c.version == by_id[c.passage_id].version
    assert kept[0].article_label == "第四十七条"
    assert [(c.law, c.article_no) for c in check.removed] == [
        ("劳动合同法", 48),
        ("劳动法", 47),
        ("反不正当竞争法", 1),
    ]
    assert answer.citations[0].text == "生成器自己写的条文"  # the input is untouched


def test_verify_ok_when_all_match_and_empty() -> None:
    check = verify_citations(Answer(citations=[Citation(law="劳动合同法", article_no=47)]), PASSAGES)
    assert check.ok and len(check.answer.citations) == 1
    empty = verify_citations(Answer(), PASSAGES)
    assert empty.ok and empty.answer.citations == []
    none_retrieved = verify_citations(Answer(citations=[Citation(law="劳动合同法", article_no=47)]), [])
    assert not none_retrieved.ok and none_retrieved.answer.citations == []


def test_verify_prefers_the_requested_version_then_score() -> None:
    old = _p("劳动合同法", 47, "旧文本", version="2007-06-29", score=0.9)
    new = _p("劳动合同法", 47, "新文本", version="2012-12-28", score=0.5)
    c = Citation(law="劳动合同法", article_no=47)
    assert verify_citations(Answer(citations=[c]), [new, old]).answer.citations[0].text == "旧文本"
    pinned = c.model_copy(update={"version": "2012-12-28"})
    assert verify_citations(Answer(citations=[pinned]), [new, old]).answer.citations[0].text == "新文本"


def test_verify_free_passages_by_label() -> None:
    guide = Passage(
        id="高血压指南#3.1",
        domain="medical",
        law="中国高血压防治指南",
        article_label="3.1 生活方式干预",
        text="减少钠盐摄入……",
    )
    ok = verify_citations(
        Answer(citations=[Citation(law="《中国高血压防治指南》", article_label="3.1 生活方式干预")]), [guide]
    )
    assert ok.ok and ok.answer.citations[0].passage_id == guide.id
    bad = verify_citations(
        Answer(citations=[Citation(law="中国高血压防治指南", article_label="9.9 不存在")]), [guide]
    )
    assert not bad.ok


def test_ground_verifies_basis_and_scrubs_points() -> None:
    a47 = _p(
        "劳动合同法", 47, "经济补偿按劳动者在本单位工作的年限，每满一年支付一个月工资的标准向劳动者支付。"
    )
    answer = Answer(
        category="劳动合同",
        points=[
            "经济补偿按工作年限计算（《劳动合同法》第四十七条）",
            "另可依据《劳动合同法》第九十九条主张赔偿",
            "依照劳动法第九十九条处理",
            "本法第四十七条规定的经济补偿",
        ],
        citations=[Citation(law="劳动合同法", article_no=47), Citation(law="劳动合同法", article_no=99)],
    )
    result = ground(answer, [a47])
    assert [c.article_no for c in result.answer.citations] == [47]
    assert [c.article_no for c in result.removed] == [99]
    points = result.answer.points
    assert points[0] == answer.points[0]
    assert "第九十九条" not in points[1] and REMOVED_CITATION in points[1]
    assert points[2] == f"依照{REMOVED_CITATION}处理"
    assert points[3] == answer.points[3]  # 本法…: the law's own cross-reference
    assert result.scrubbed_points == 2 and result.changed
    assert not ground(answer.model_copy(update={"points": points[:1], "citations": []}), [a47]).changed
