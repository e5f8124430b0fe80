"""What text cites (assistant.grounding.refs) and how key points are made to agree with 【依据】."""

from __future__ import annotations

from assistant.grounding import REMOVED_CITATION, find_refs, ground, parse, render, verify_citations
from knowledge.types import Passage
from safety.types import Answer, Citation

PLA = "中国人民解放军实施《药品管理法》办法"


def _p(law: str, no: int, label: str, text: str, version: str = "2020-01-01") -> Passage:
    key = f"{no}-1" if "之一" in label else str(no)
    return Passage(
        id=f"{law}@{version}#{key}", domain="legal", law=law, law_full=law, article_no=no,
        article_label=label, text=text, version=version,
    )  # fmt: skip


A120 = _p("刑法", 120, "第一百二十条", "组织、领导恐怖活动组织的，处十年以上有期徒刑或者无期徒刑。")
A120_1 = _p("刑法", 120, "第一百二十条之一", "资助恐怖活动组织、实施恐怖活动的个人的，处五年以下有期徒刑。")
PLA56 = _p(PLA, 56, "第五十六条", "军队医疗机构配制的制剂，不得在市场上销售。")
L46 = _p(
    "劳动合同法",
    46,
    "第四十六条",
    "有下列情形之一的，用人单位应当向劳动者支付经济补偿：\n（五）依照本法第四十四条第一项规定终止固定期限劳动合同的；",
)
L47 = _p(
    "劳动合同法",
    47,
    "第四十七条",
    "经济补偿按劳动者在本单位工作的年限，每满一年支付一个月工资的标准向劳动者支付。",
)
R6 = _p(
    "劳动合同法实施条例",
    6,
    "第六条",
    "用人单位应当依照劳动合同法第八十二条的规定向劳动者每月支付两倍的工资。",
)


def _keys(text: str) -> list[tuple[str, int | None, int | None]]:
    return [(r.law, r.article_no, r.sub) for r in find_refs(text) if not r.self_reference]


def test_nested_titles_both_bracket_styles() -> None:
    for title in (f"《{PLA}》", "《中国人民解放军实施〈药品管理法〉办法》"):
        assert _keys(f"见{title}第五十六条。") == [("中国人民解放军实施药品管理法办法", 56, None)]


def test_inserted_articles_are_not_their_base_article() -> None:
    assert _keys("《刑法》第一百二十条之一和《刑法》第一百二十条") == [("刑法", 120, 1), ("刑法", 120, None)]
    ok = verify_citations(Answer(citations=[Citation(law="刑法", article_label="第一百二十条之一")]), [A120])
    assert not ok.ok  # 之一 must not verify against 第一百二十条
    ok = verify_citations(
        Answer(citations=[Citation(law="刑法", article_label="第一百二十条之一")]), [A120, A120_1]
    )
    assert ok.ok and ok.answer.citations[0].text == A120_1.text


def test_followers_clauses_bare_names_and_self_references() -> None:
    refs = find_refs("依据《劳动合同法》第四十六条第（五）项、第四十七条，依照劳动法第四十四条及本法第十条")
    assert [(r.law, r.article_no, r.clause, r.follower) for r in refs if not r.self_reference] == [
        ("劳动合同法", 46, "第（五）项", False),
        ("劳动合同法", 47, "", True),
        ("劳动法", 44, "", False),
    ]
    assert [r.law for r in refs if r.self_reference] == ["本法"]


def test_parse_and_render_round_trip_nested_and_inserted_titles() -> None:
    a = parse(
        f"【分类】刑事犯罪\n【要点】\n1. 一\n【依据】\n- 《刑法》第一百二十条之一\n- 《{PLA}》第五十六条"
    )
    assert [(c.law, c.article_no, c.article_label) for c in a.citations] == [
        ("刑法", 120, "第一百二十条之一"),
        (PLA, 56, "第五十六条"),
    ]
    again = parse(render(a, with_text=False))
    assert [(c.law, c.article_label) for c in again.citations] == [
        (c.law, c.article_label) for c in a.citations
    ]


def test_point_naming_a_retrieved_article_missing_from_basis_gets_it_added() -> None:
    answer = Answer(
        category="劳动合同",
        points=[
            "经济补偿按工作年限计算，见《劳动合同法》第四十七条",
            f"另见《{PLA}》第五十六条和《刑法》第一百二十条之一",
        ],
        citations=[Citation(law="劳动合同法", article_no=46)],
    )
    result = ground(answer, [L46, L47, A120])
    assert [c.article_no for c in result.answer.citations] == [46, 47]  # 47 was retrieved: added
    assert [c.article_no for c in result.added] == [47]
    second = result.answer.points[1]
    assert PLA not in second and "之一" not in second and second.count(REMOVED_CITATION) == 2
    assert result.scrubbed_points == 1


def test_follower_kept_when_head_is_removed_keeps_its_title() -> None:
    answer = Answer(
        category="劳动合同",
        points=["见《劳动合同法》第九十九条、第四十七条"],
        citations=[Citation(law="劳动合同法", article_no=47)],
    )
    point = ground(answer, [L47]).answer.points[0]
    assert point == f"见《劳动合同法》{REMOVED_CITATION}、第四十七条"
    answer = answer.model_copy(update={"points": ["见《劳动合同法》第四十七条、第九十九条"]})
    assert ground(answer, [L47]).answer.points[0] == "见《劳动合同法》第四十七条"


def test_words_quoted_from_a_retrieved_article_are_left_alone() -> None:
    quote = (
        "用人单位应当依照劳动合同法第八十二条的规定向劳动者每月支付两倍的工资（《劳动合同法实施条例》第六条）"
    )
    answer = Answer(
        category="劳动合同", points=[quote], citations=[Citation(law="劳动合同法实施条例", article_no=6)]
    )
    result = ground(answer, [R6])
    assert result.answer.points == [quote] and not result.changed
    # …but the same cross-reference written by the generator itself is checked.
    own = Answer(
        category="劳动合同", points=["应按劳动合同法第八十二条支付两倍工资"], citations=answer.citations
    )
    assert REMOVED_CITATION in ground(own, [R6]).answer.points[0]
