"""Legal answers (issue 10): a question with two asks gets a point for each, the asker's own act first; the law
comes before the rules implementing it.

「老板两个月没发工资，我想辞职，辞职了还能拿到经济补偿金吗？」 was answered by 第八十五条 (an administrative order to pay
wages and compensation): it shares the most words, yet the worker asked whether she may quit. A lawyer cites
第三十八条 (劳动者可以解除劳动合同) first, then what follows.
"""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.generators.extractive import ExtractiveGenerator
from assistant.grounding.asks import asking_part, asks
from knowledge.numerals import article_label
from knowledge.types import Passage

LEGAL = load_domains()["legal"]


def _law(no: int, text: str, score: float) -> Passage:
    return Passage(
        id=f"劳动合同法#{no}", domain="legal", law="劳动合同法", law_full="劳动合同法", article_no=no,
        article_label=article_label(no), text=text, kind="法律", score=score,
    )  # fmt: skip


QUIT = _law(
    38,
    "用人单位有下列情形之一的，劳动者可以解除劳动合同：\n（一）未按照劳动合同约定提供劳动保护或者劳动条件的；\n"
    "（二）未及时足额支付劳动报酬的；\n（三）未依法为劳动者缴纳社会保险费的；",
    0.28,
)  # fmt: skip
ORDER = _law(
    85,
    "用人单位有下列情形之一的，由劳动行政部门责令限期支付劳动报酬、加班费或者经济补偿：\n"
    "（一）未按照劳动合同的约定或者国家规定及时足额支付劳动者劳动报酬的；\n"
    "（四）解除或者终止劳动合同，未依照本法规定向劳动者支付经济补偿的。",
    0.07,
)  # fmt: skip

QUESTION = "老板已经连续两个月没发工资了，我想辞职，辞职了还能拿到经济补偿金吗？"


def test_the_asking_part_starts_where_the_asker_says_what_she_wants() -> None:
    assert asking_part(QUESTION) == "我想辞职，辞职了还能拿到经济补偿金吗"
    assert asking_part("房东不退押金怎么办") == "房东不退押金怎么办"


def test_asks_are_the_askers_acts_not_the_parties() -> None:
    found = asks(QUESTION, LEGAL)
    assert [a.word for a in found] == ["辞职"] and found[0].intended
    assert "劳动者可以解除劳动合同" in found[0].wording
    # 公司 and 房东 are parties of the story, not asks; 离职 after the story is no act the asker intends
    assert [a.word for a in asks("签了竞业限制协议，离职后公司要给补偿吗？", LEGAL)] == ["离职", "补偿"]
    assert not any(a.intended for a in asks("签了竞业限制协议，离职后公司要给补偿吗？", LEGAL))


def test_the_right_to_the_askers_act_leads() -> None:
    answer = ExtractiveGenerator().answer(QUESTION, [ORDER, QUIT], LEGAL)
    assert answer.citations[0].ref.startswith("《劳动合同法》第三十八条")
    assert "劳动者可以解除劳动合同" in answer.points[0]
    assert any("第八十五条" in c.ref for c in answer.citations)  # the consequence still follows


def test_a_question_asking_nothing_of_its_own_is_answered_as_before() -> None:
    answer = ExtractiveGenerator().answer(
        "老板两个月没发工资，劳动行政部门会责令支付经济补偿吗？", [ORDER, QUIT], LEGAL
    )
    assert answer.citations[0].ref.startswith("《劳动合同法》第八十五条")


# ---------------------------------------------------------------------- the law before the rules implementing it
def _consumer(law: str, no: int, text: str, kind: str, score: float) -> Passage:
    return Passage(
        id=f"{law}#{no}", domain="legal", law=law, law_full=law, article_no=no, article_label=article_label(no),
        text=text, kind=kind, score=score,
    )  # fmt: skip


def test_the_law_outranks_a_rule_the_ranker_prefers_a_little() -> None:
    # Both say the consumer may ask for a refund; the ranker slightly prefers the department rule. A lawyer
    # cites 消费者权益保护法 (a 法律), not the penalty rules implementing it (a 部门规章).
    rule = _consumer(
        "侵害消费者权益行为处罚办法", 12,
        "经营者提供的商品不符合质量要求的，消费者要求退货的，经营者不得故意拖延或者无理拒绝。", "部门规章", 0.3,
    )  # fmt: skip
    law = _consumer(
        "消费者权益保护法", 24,
        "经营者提供的商品不符合质量要求的，消费者可以依照国家规定、当事人约定退货，或者要求经营者履行更换、修理等义务。",
        "法律", 0.2,
    )  # fmt: skip
    answer = ExtractiveGenerator().answer(
        "买的冰箱坏了，商家不给退货，消费者能要求退货吗？", [rule, law], LEGAL
    )
    assert answer.citations[0].law == "消费者权益保护法"
