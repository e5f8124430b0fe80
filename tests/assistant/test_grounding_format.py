"""assistant.grounding.format: parsing and rendering the 【分类】/【要点】/【依据】 format, including malformed generator output."""

from __future__ import annotations

import pytest

from assistant.grounding.format import (
    AnswerFormatError,
    parse,
    parse_citations,
    render,
    short_law_name,
)
from safety.types import Answer, Citation


def test_parse_canonical_answer() -> None:
    text = (
        "【分类】劳动合同\n【要点】\n1. 用人单位拖欠工资，劳动者可以解除合同。\n2、可以要求经济补偿\n"
        "【依据】\n- 《中华人民共和国劳动合同法》第三十八条：……\n- 《劳动合同法》第46条\n本回答仅供参考"
    )
    a = parse(text)
    assert a.category == "劳动合同"
    assert a.points == ["用人单位拖欠工资，劳动者可以解除合同。", "可以要求经济补偿"]
    assert [(c.law, c.article_no, c.article_label) for c in a.citations] == [
        ("劳动合同法", 38, "第三十八条"),
        ("劳动合同法", 46, "第四十六条"),
    ]
    assert a.raw == text


def test_parse_variants_inline_and_half_width() -> None:
    a = parse("[分类] 工伤 [要点] 1. 先申请工伤认定 2. 再做劳动能力鉴定 [依据] 《工伤保险条例》第十四条")
    assert a.category == "工伤"
    assert a.points == ["先申请工伤认定", "再做劳动能力鉴定"]
    assert a.citations[0].law == "工伤保险条例" and a.citations[0].article_no == 14


def test_parse_colon_headings_and_bullets() -> None:
    a = parse("分类：用药\n要点：\n- 按说明书服用\n（2）有不适及时就医\n依据：\n《药品管理法》第九十八条")
    assert a.category == "用药"
    assert a.points == ["按说明书服用", "有不适及时就医"]
    assert a.citations[0].article_no == 98


def test_parse_drops_disclaimer_lines_and_duplicate_citations() -> None:
    a = parse(
        "【分类】劳动合同\n【要点】\n1. 要点一\n本回答仅供参考\n【依据】《劳动合同法》第十条 《劳动合同法》第十条"
    )
    assert a.points == ["要点一"]
    assert len(a.citations) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("随便说点什么，没有格式。", "missing section"),
        ("【分类】劳动合同\n没有要点", "【要点】"),
        ("【要点】\n1. 只有要点", "【分类】"),
        ("【分类】\n【要点】1. 点", "【分类】 is empty"),
        ("【分类】劳动合同\n【要点】\n【依据】《劳动合同法》第十条", "no points"),
    ],
)
def test_parse_malformed_raises_with_reason(text: str, problem: str) -> None:
    with pytest.raises(AnswerFormatError, match=problem):
        parse(text)


def test_parse_citations_handles_numerals_and_prefix() -> None:
    cites = parse_citations(
        "见《中华人民共和国民法典》第一千一百六十五条和《民法典》第1165条、《刑法》第二十条"
    )
    assert [(c.law, c.article_no) for c in cites] == [("民法典", 1165), ("刑法", 20)]
    assert short_law_name("《中华人民共和国劳动合同法》") == "劳动合同法"


def test_render_round_trips_through_parse() -> None:
    answer = Answer(
        category="劳动合同",
        points=["第一点", "第二点"],
        citations=[
            Citation(
                law="劳动合同法", article_no=38, article_label="第三十八条", text="用人单位有下列情形之一的…"
            )
        ],
        disclaimer="本回答仅供参考。",
    )
    text = render(answer)
    assert text.startswith(
        "【分类】劳动合同\n【要点】\n1. 第一点\n2. 第二点\n【依据】\n- 《劳动合同法》第三十八条：用人单位"
    )
    assert text.endswith("本回答仅供参考。")
    again = parse(text)
    assert again.category == answer.category and again.points == answer.points
    assert [(c.law, c.article_no) for c in again.citations] == [("劳动合同法", 38)]


def test_render_without_citations_says_none() -> None:
    assert "【依据】\n（无）" in render(Answer(category="x", points=["y"]))


def test_a_section_number_in_a_one_line_point_is_not_a_bullet() -> None:
    """One point whose citation ends in a numbered guideline section (「… > 10.）」, 「… > 2.高风险）」) became two
    (「…（〔未核实的引用已删除〕」 and 「）」 / 「高风险）」) when an answer of one point was parsed back."""
    point = "接种带状疱疹疫苗可预防带状疱疹（《中国公民健康素养——基本知识与技能释义（2024年版）》一、基本知识和理念 > 10.）"
    a = parse(
        f"【分类】疫苗接种\n【要点】\n{point}\n【依据】\n- 《中国公民健康素养——基本知识与技能释义（2024年版）》"
    )
    assert a.points == [point]
    # numbered 1 then 2 inside the citation's brackets: still one point
    tetanus = "伤口内有未去除的异物（《非新生儿破伤风诊疗规范（2024年版）》十、外伤后破伤风的预防 > （二）破伤风风险分级 > 2.高风险）"
    assert parse(
        f"【分类】急救与伤害\n【要点】\n1. {tetanus}\n【依据】\n- 《非新生儿破伤风诊疗规范（2024年版）》"
    ).points == [tetanus]
    # points written on one line and numbered 1, 2 are still two points
    assert parse(
        "【分类】工伤\n【要点】1. 先申请工伤认定 2. 再做鉴定\n【依据】《工伤保险条例》第十四条"
    ).points == [
        "先申请工伤认定",
        "再做鉴定",
    ]
