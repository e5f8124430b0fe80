"""The corpus citation graph in legal answers (issue 10): an article that relies on another of its law
(依照本法第四十七条…的二倍) brings that article in, and a reference to a 项 quotes that very item."""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.generators.extractive import ExtractiveGenerator
from assistant.grounding.basis import judge_basis
from assistant.grounding.graph import CITED_SCORE_FACTOR, InternalRef, internal_refs, with_cited
from knowledge.types import Passage

LEGAL = load_domains()["legal"]


def _law(no: int, label: str, text: str, score: float = 0.0, law: str = "劳动合同法") -> Passage:
    return Passage(
        id=f"{law}@2012-12-28#{no}", domain="legal", law=law, law_full=law, article_no=no,
        article_label=label, text=text, version="2012-12-28", kind="法律", score=score,
    )  # fmt: skip


A40 = _law(
    40, "第四十条",
    "有下列情形之一的，用人单位提前三十日以书面形式通知劳动者本人或者额外支付劳动者一个月工资后，可以解除劳动合同：\n"
    "（一）劳动者患病或者非因工负伤，在规定的医疗期满后不能从事原工作，也不能从事由用人单位另行安排的工作的；\n"
    "（二）劳动者不能胜任工作，经过培训或者调整工作岗位，仍不能胜任工作的；\n"
    "（三）劳动合同订立时所依据的客观情况发生重大变化，致使劳动合同无法履行，经用人单位与劳动者协商，未能就变更"
    "劳动合同内容达成协议的。",
)  # fmt: skip
A47 = _law(
    47, "第四十七条",
    "经济补偿按劳动者在本单位工作的年限，每满一年支付一个月工资的标准向劳动者支付。六个月以上不满一年的，按一年计算；"
    "不满六个月的，向劳动者支付半个月工资的经济补偿。",
)  # fmt: skip
A87 = _law(
    87, "第八十七条",
    "用人单位违反本法规定解除或者终止劳动合同的，应当依照本法第四十七条规定的经济补偿标准的二倍向劳动者支付赔偿金。",
    score=0.6,
)  # fmt: skip
# Made up for the test: a rule that relies on one item (第三项) of another article, not on its first.
A99 = _law(
    99, "第九十九条",
    "用人单位依照本法第四十条第三项规定解除劳动合同的，应当向劳动者支付经济补偿。",
    score=0.7,
)  # fmt: skip


def test_internal_refs_read_article_paragraph_and_item() -> None:
    assert internal_refs("依照本法第四十四条第一项规定终止固定期限劳动合同的") == [InternalRef(44, 0, 1)]
    assert internal_refs("有本法第三十九条和第四十条第一项、第二项规定情形之一的") == [
        InternalRef(39),
        InternalRef(40, 0, 1),
    ]
    assert internal_refs("依照本法第四十一条第一款规定解除") == [InternalRef(41, 1, 0)]
    assert InternalRef(41, 1, 5).clause == "第一款第（五）项"
    # Another law's article is not this law's: 《劳动法》第四十四条 cited from 劳动合同法 is no internal ref.
    assert internal_refs("依照《中华人民共和国劳动法》第四十四条的规定") == []


def test_with_cited_adds_the_article_a_retrieved_one_relies_on() -> None:
    store = {("劳动合同法", 47): A47}
    out = with_cited([A87], lambda law, no: store.get((law, no)))
    assert [p.article_no for p in out] == [87, 47]
    assert out[1].score == A87.score * CITED_SCORE_FACTOR
    # Nothing is added twice, and an article the knowledge base lacks is skipped.
    assert [p.article_no for p in with_cited([A87, A47], lambda law, no: store.get((law, no)))] == [87, 47]
    assert with_cited([A87], lambda law, no: None) == [A87]


def test_gate_keeps_the_article_a_kept_one_relies_on() -> None:
    one = LEGAL.model_copy(update={"retrieval": LEGAL.retrieval.model_copy(update={"max_passages": 1})})
    cited = A47.model_copy(update={"score": 0.3})
    decision = judge_basis("公司违法解除劳动合同要赔多少钱？", [A87, cited], one)
    assert [p.article_no for p in decision.passages] == [87, 47]
    # …but never on its own: a question nothing answers stays without basis.
    assert judge_basis("邻居家的狗半夜一直叫怎么办？", [A87, cited], one).passages == []


def test_a_reference_to_an_item_quotes_that_item() -> None:
    answer = ExtractiveGenerator().answer(
        "公司解除劳动合同要给经济补偿吗？", [A99, A40.model_copy(update={"score": 0.35})], LEGAL
    )
    assert "第九十九条" in answer.points[0]
    assert "客观情况发生重大变化" in answer.points[1], answer.points
    assert answer.citations[1].ref == "《劳动合同法》第四十条第（三）项"


def test_pipeline_follows_the_citation_of_a_retrieved_article(make_pipeline, audit) -> None:
    spec = load_domains()
    legal = spec["legal"]
    spec["legal"] = legal.model_copy(update={"retrieval": legal.retrieval.model_copy(update={"k": 1})})
    question = "有哪些情形用人单位应当向劳动者支付经济补偿？"
    on = make_pipeline(domains=spec).ask(question, domain="legal")
    retrieved = [item["id"] for item in audit.get(on.turn_id)["retrieved"]]
    assert retrieved[0].endswith("#46") and any(i.endswith("#38") for i in retrieved[1:]), retrieved
    spec["legal"] = spec["legal"].model_copy(
        update={"retrieval": spec["legal"].retrieval.model_copy(update={"follow_citations": False})}
    )
    off = make_pipeline(domains=spec).ask(question, domain="legal")
    assert len(audit.get(off.turn_id)["retrieved"]) == 1
