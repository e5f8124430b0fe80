"""The extractive generator on hand-made passages: statement selection, 【分类】, citations, determinism."""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.generators.base import GenParams
from assistant.generators.extractive import ExtractiveGenerator
from assistant.grounding import classify, content_grams, coverage, names_article, parse, select_basis
from assistant.grounding.statements import statements
from knowledge.types import Passage

A38 = Passage(
    id="劳动合同法@2012-12-28#38",
    domain="legal",
    law="劳动合同法",
    article_no=38,
    article_label="第三十八条",
    text="用人单位有下列情形之一的，劳动者可以解除劳动合同：\n（一）未按照劳动合同约定提供劳动保护或者劳动条件的；\n"
    "（二）未及时足额支付劳动报酬的；\n（三）未依法为劳动者缴纳社会保险费的。",
)
A47 = Passage(
    id="劳动合同法@2012-12-28#47",
    domain="legal",
    law="劳动合同法",
    article_no=47,
    article_label="第四十七条",
    text="经济补偿按劳动者在本单位工作的年限，每满一年支付一个月工资的标准向劳动者支付。六个月以上不满一年的，按一年计算。",
)
INJ = Passage(
    id="社会保险法@2018#86",
    domain="legal",
    law="社会保险法",
    article_no=86,
    article_label="第八十六条",
    text="用人单位未按时足额缴纳社会保险费的，由社会保险费征收机构责令限期缴纳或者补足。",
)
LEGAL = load_domains()["legal"]


def test_list_items_join_their_lead_in() -> None:
    units = statements(A38)
    assert units[1].text == "用人单位有下列情形之一的，劳动者可以解除劳动合同：未及时足额支付劳动报酬的"
    assert units[1].clause == "第（二）项" and len(units) == 3


def test_grams_and_coverage() -> None:
    q = content_grams("公司拖欠工资怎么办？")
    assert {"拖欠", "工资"} <= q and "怎么" not in q
    assert coverage(q, content_grams("拖欠工资")) > coverage(q, content_grams("社会保险"))
    assert coverage(set(), {"a"}) == 0.0
    assert coverage({"ab"}, {"ab", "cd"}) == 1.0


def test_answer_picks_relevant_statements_and_cites_them() -> None:
    gen = ExtractiveGenerator()
    answer = gen.answer(LEGAL.expand("公司拖欠工资，可以解除劳动合同吗？"), [INJ, A38, A47], LEGAL)
    assert any("未及时足额支付劳动报酬" in p for p in answer.points)
    cited = {(c.law, c.article_no) for c in answer.citations}
    assert ("劳动合同法", 38) in cited
    # Every point names the article it came from, and every such article is cited.
    for point in answer.points:
        assert any(f"（{c.ref}）" in point for c in answer.citations)
    assert answer.category == "劳动合同"


def test_named_article_is_answered_from_its_own_text() -> None:
    assert names_article("劳动合同法第四十七条的内容是什么", A47)
    assert names_article("《劳动合同法》第47条", A47)
    assert not names_article("劳动合同法第四十八条", A47)
    answer = ExtractiveGenerator().answer("劳动合同法第四十七条的内容是什么", [A38, A47], LEGAL)
    assert [(c.law, c.article_no) for c in answer.citations] == [("劳动合同法", 47)]
    assert answer.points[0].startswith("经济补偿按劳动者在本单位工作的年限")


def test_generate_is_parseable_and_deterministic() -> None:
    gen = ExtractiveGenerator()
    params = GenParams(question="用人单位不缴社保怎么办", domain=LEGAL, passages=[A38, INJ, A47])
    first = gen.generate([], params)
    assert first == gen.generate([], params)
    parsed = parse(first)
    assert parsed.category == "社会保险"
    assert parsed.citations


def test_classify_falls_back_to_default() -> None:
    assert classify("今天天气", [], LEGAL) == LEGAL.default_category


def test_basis_filter_needs_topical_overlap() -> None:
    assert A38 in select_basis("公司拖欠工资怎么办", [A38, A47], LEGAL)  # synonyms: 工资→劳动报酬
    assert select_basis("公司拖欠工资怎么办", [A38], LEGAL.model_copy(update={"synonyms": {}})) == []
    assert select_basis("今天天气怎么样", [A38, A47], LEGAL) == []
    assert select_basis("劳动合同法第四十七条", [A38, A47], LEGAL)[0] == A47
