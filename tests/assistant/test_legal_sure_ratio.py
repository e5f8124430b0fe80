"""Session 7 of issue 10: the gate trusts the ranker's top article when it is 1.5 × (not 3 ×) surer than the next.

民法典第一千二百五十四条 (a flower pot thrown from a window, nobody knows whose) was the ranker's first article at
1.65 × the next and still lost at the gate to articles sharing more of the story's words; at 1.5 it passes, and on
the odd half, the unanswerable set (0.85) and the gate-tuning set nothing changed (README "Legal answers, session 7").
"""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.grounding import basis
from assistant.grounding.basis import judge_basis
from assistant.grounding.relevance import topic_words
from knowledge.types import Passage

LEGAL = load_domains()["legal"]


def _law(law: str, no: int, text: str, score: float) -> Passage:
    return Passage(
        id=f"{law}#{no}", domain="legal", law=law, law_full=law, article_no=no, article_label=f"第{no}条",
        text=text, kind="法律", score=score,
    )  # fmt: skip


FORMALDEHYDE = "刚搬进新租的房子一个月，孩子老咳嗽，测了甲醛超标，房东说合同签了一年不能退租，我怎么办？"
DANGER = _law(
    "民法典", 731,
    "租赁物危及承租人的安全或者健康的，即使承租人订立合同时明知该租赁物质量不合格，承租人仍然可以随时解除合同。",
    0.06,
)  # fmt: skip
DEFINITION = _law(
    "城市房地产管理法", 53,
    "房屋租赁，是指房屋所有权人作为出租人将其房屋出租给承租人使用，由承租人向出租人支付租金的行为。",
    0.03,
)  # fmt: skip


def _weights(question: str, *passages: Passage) -> dict[str, float]:
    text = " ".join(p.text for p in passages)
    return {w: 4.0 if w in text else 9.0 for w in topic_words(question)}


def test_twice_as_sure_is_sure_enough() -> None:
    assert basis.SURE_RATIO <= 2.0
    decision = judge_basis(
        FORMALDEHYDE, [DANGER, DEFINITION], LEGAL, _weights(FORMALDEHYDE, DANGER, DEFINITION)
    )
    assert DANGER in decision.passages  # dropped by the old ratio (3 ×): 0.06 is only 2 × 0.03
    r = LEGAL.retrieval  # premise: on relevance alone it is below the gate's floor
    assert decision.scores[DANGER.id] < max(r.min_overlap, r.relative_overlap * decision.best)


def test_a_near_tie_is_still_not_trusted() -> None:
    close = DANGER.model_copy(update={"score": 0.04})  # 1.33 × the next
    decision = judge_basis(
        FORMALDEHYDE, [close, DEFINITION], LEGAL, _weights(FORMALDEHYDE, close, DEFINITION)
    )
    assert close not in decision.passages
