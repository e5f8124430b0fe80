"""PII masking, Chinese numerals, citation parsing and citation verification."""

from __future__ import annotations

import pytest

from knowledge.types import Passage
from safety.citations import find_citations, normalize_law, parse_citation, verify_citations
from safety.numerals import cn_to_int, int_to_cn, parse_article_no
from safety.pii import contains_pii, mask_pii
from safety.types import Answer, Citation

# ------------------------------------------------------------------------------------------------ PII


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        ("身份证号110101199003071234", "110101199003071234", "[身份证号]"),
        ("身份证 11010119900307123x 已提交", "11010119900307123x", "[身份证号]"),
        ("电话13812345678", "13812345678", "138****5678"),
        ("手机 +86 139-1234-5678", "1234", "139****5678"),
        ("患者张三主诉头痛", "张三", "患者张某主诉头痛"),
        ("当事人李小明向法院起诉", "李小明", "当事人李某向法院起诉"),
        ("患者：王芳，女，45岁", "王芳", "患者：王某，女"),
    ],
)
def test_pii_is_masked(text: str, gone: str, kept: str) -> None:
    out = mask_pii(text)
    assert gone not in out
    assert kept in out
    assert mask_pii(out) == out  # idempotent: stored copies can be masked again on export


@pytest.mark.parametrize(
    "text",
    [
        "当事人向人民法院提起诉讼",
        "患者有权知悉病情",
        "患者黄疸加重",
        "患者应当遵医嘱",
        "全国心理援助热线 400-161-9995，北京 010-82951332",
        "订单号 123456789012345678901",
        "第一千一百六十五条",
    ],
)
def test_pii_masking_leaves_ordinary_text_alone(text: str) -> None:
    assert mask_pii(text) == text


def test_pii_switches_and_detection() -> None:
    text = "患者张三 13812345678 110101199003071234"
    assert mask_pii(text, names=False).startswith("患者张三")
    assert "13812345678" in mask_pii(text, phones=False)
    assert "110101199003071234" in mask_pii(text, id_cards=False)
    assert contains_pii(text) and not contains_pii(mask_pii(text))


# ------------------------------------------------------------------------------------------------ numerals


@pytest.mark.parametrize(
    ("cn", "n"),
    [
        ("一", 1),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("四十七", 47),
        ("一百", 100),
        ("一百零二", 102),
        ("一百一十", 110),
        ("一千零五", 1005),
        ("一千一百六十五", 1165),
        ("一千二百六十", 1260),
        ("两百", 200),
        ("一万零一", 10001),
        ("47", 47),
        ("４７", 47),
    ],
)
def test_numerals_round_trip(cn: str, n: int) -> None:
    assert cn_to_int(cn) == n
    if not cn.isdigit() and "两" not in cn and "４" not in cn:
        assert int_to_cn(n) == cn


def test_numeral_errors_and_labels() -> None:
    with pytest.raises(ValueError):
        cn_to_int("四十七条")
    with pytest.raises(ValueError):
        cn_to_int("")
    assert parse_article_no("第四十七条") == 47
    assert parse_article_no("第 1165 条") == 1165
    assert parse_article_no("附则") is None
    assert all(cn_to_int(int_to_cn(i)) == i for i in range(0, 3000))


# ------------------------------------------------------------------------------------------------ citations


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
