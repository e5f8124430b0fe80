"""Session 6 of issue 10: the article the ranker is sure of, and everyday words of more kinds of story.

Try-out questions told as people tell them (「刚搬进新租的房子…甲醛超标…房东说不能退租」) found the governing
article first in the ranking (民法典第七百三十一条, far ahead of every other) and then lost it at the gate: the
story's words made a side article share more of the question. And whole kinds of story had no everyday word
the vocabulary knew (我爸去世了没留遗嘱, 饭店老板不开发票), so the question was not even in scope.
"""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.grounding.basis import judge_basis
from assistant.grounding.relevance import topic_words
from assistant.grounding.scope import core_words
from knowledge.types import Passage

LEGAL = load_domains()["legal"]


def _law(law: str, no: int, text: str, score: float) -> Passage:
    return Passage(
        id=f"{law}#{no}", domain="legal", law=law, law_full=law, article_no=no, article_label=f"第{no}条",
        text=text, kind="法律", score=score,
    )  # fmt: skip


def _weights(question: str, *passages: Passage) -> dict[str, float]:
    """Words the passages use weigh like statute words (4), the others like words no article uses (9)."""
    text = " ".join(p.text for p in passages)
    return {w: 4.0 if w in text else 9.0 for w in topic_words(question)}


DANGER = _law(
    "民法典", 731,
    "租赁物危及承租人的安全或者健康的，即使承租人订立合同时明知该租赁物质量不合格，承租人仍然可以随时解除合同。",
    0.77,
)  # fmt: skip
DEFINITION = _law(
    "城市房地产管理法", 53,
    "房屋租赁，是指房屋所有权人作为出租人将其房屋出租给承租人使用，由承租人向出租人支付租金的行为。",
    0.03,
)  # fmt: skip
FORMALDEHYDE = "刚搬进新租的房子一个月，孩子老咳嗽，测了甲醛超标，房东说合同签了一年不能退租，我怎么办？"


def test_the_article_the_ranker_is_sure_of_passes_the_gate() -> None:
    weights = _weights(FORMALDEHYDE, DANGER, DEFINITION)
    decision = judge_basis(FORMALDEHYDE, [DANGER, DEFINITION], LEGAL, weights)
    assert DANGER in decision.passages  # was dropped: below the gate's floor
    # premise: on relevance alone it is below the gate's floor (and below the definition, which shares more)
    r = LEGAL.retrieval
    floor = max(r.min_overlap, r.relative_overlap * decision.best)
    assert decision.scores[DANGER.id] < floor and decision.scores[DANGER.id] < decision.scores[DEFINITION.id]


def test_only_when_the_ranker_is_far_surer_and_the_question_is_in_scope() -> None:
    hesitant = DANGER.model_copy(update={"score": 0.04})  # less than SURE_RATIO (1.5) × the other's score
    weights = _weights(FORMALDEHYDE, DANGER, DEFINITION)
    assert hesitant not in judge_basis(FORMALDEHYDE, [hesitant, DEFINITION], LEGAL, weights).passages
    # a question the vocabulary does not place in the domain gets no such trust (羽毛球拍怎么选 → 法官法)
    racket = "羽毛球拍的甲醛超标怎么选？"
    assert len(core_words(topic_words(racket), LEGAL)) < 2
    assert judge_basis(racket, [DANGER], LEGAL, _weights(racket, DANGER)).passages == []


INVOICE = _law(
    "消费者权益保护法", 22,
    "经营者提供商品或者服务，应当按照国家有关规定或者商业惯例向消费者出具发票等购货凭证或者服务单据；"
    "消费者索要发票等购货凭证或者服务单据的，经营者必须出具。",
    0.51,
)  # fmt: skip


def test_everyday_words_of_more_stories_are_in_the_vocabulary() -> None:
    expanded = LEGAL.expand("我爸去世了没留遗嘱，我妈、我姐还有爷爷都在，房子怎么分？")
    for wording in ("父母", "死亡", "法定继承", "兄弟姐妹", "祖父母"):
        assert wording in expanded
    assert "饲养的动物" in LEGAL.expand("被邻居家没拴绳的狗咬伤了")
    assert "未支付租金" in LEGAL.expand("租客已经三个月没交房租")
    # the shop's owner is an 经营者 as well as an employer
    assert {"用人单位", "经营者"} <= set(LEGAL.synonyms["老板"])


def test_a_restaurant_story_about_an_invoice_finds_its_basis() -> None:
    q = "在饭店吃完饭结账时要开发票，老板说开发票要另加百分之六的税点，不加就不开，这合理吗？"
    assert {"饭店", "开发票", "老板"} <= set(core_words(topic_words(q), LEGAL))
    assert judge_basis(q, [INVOICE], LEGAL, _weights(q, INVOICE)).passages == [INVOICE]
