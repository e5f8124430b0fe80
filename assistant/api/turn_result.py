"""What an asker may see of one audited turn: the reviewed answer once a reviewer decided, never before.

Shared by `GET /v1/ask/{turn_id}` and the chat screen's "查看审核结果", so both say the same thing. A released
answer (approved or edited) is the one stored with the decision by `assistant.release`: parsed, citations
verified, the domain disclaimer attached — the same fields as any answer (`AskResult`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from safety.types import Citation

MESSAGES: dict[str, str] = {
    "under_review": "该回答仍在人工审核中，请稍后再查看。",
    "approved": "审核人员已审核通过该回答。",
    "edited": "审核人员修改了该回答后发布。",
    "rejected": "审核未通过，该回答不予发布。请换一种问法，或咨询专业人士。",
    "answered": "该问题已直接作答。",
    "refused": "该问题无法回答。",
    "no_basis": "知识库中没有找到可依据的条文。",
    "error": "该问题处理出错，请重新提问。",
}


class TurnResult(BaseModel):
    """GET /v1/ask/{turn_id}: a turn's state as its asker sees it."""

    turn_id: str
    status: str = Field(
        description="under_review | approved | edited | rejected (held turns); answered | refused | no_basis | error"
    )
    domain: str = ""
    answer: str | None = Field(
        default=None,
        description="The released answer as text (= `rendered`); null while under review, when rejected, and "
        "for refused or failed turns",
    )
    message: str
    reviewer_note: str = Field(default="", description="What the reviewer wrote to the asker, if anything")
    category: str = ""
    points: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(
        default_factory=list, description="Verified citations with their verbatim text (released answers)"
    )
    disclaimer: str = ""
    rendered: str = Field(default="", description="The full answer text shown to the user")


def turn_result(audit: Any, turn_id: str) -> TurnResult | None:
    """The asker's view of `turn_id` from the audit store, or None when no such turn was recorded.

    A held answer is only returned after a reviewer approved or edited it: the released answer stored with
    the decision. (Decisions recorded before released answers were stored fall back to the text.)
    """
    turn = audit.get(turn_id)
    if turn is None:
        return None
    review_state = turn.get("review_state")
    out: dict[str, Any] = {"turn_id": turn_id, "domain": str(turn.get("domain") or "")}
    if review_state is not None:
        # A flagged turn: only a decision releases anything.
        status = "under_review" if review_state == "pending" else str(review_state)
        out["reviewer_note"] = str(turn.get("asker_note") or "") if status != "under_review" else ""
        released = turn.get("released")
        if status in ("approved", "edited"):
            if isinstance(released, dict):
                out.update(
                    {k: released[k] for k in ("category", "points", "citations", "disclaimer", "rendered")}
                )
                out["answer"] = released.get("rendered") or None
            else:  # a decision recorded before 0006_released_answers
                legacy = turn.get("final_answer") if status == "approved" else turn.get("edited_answer")
                out["answer"] = out["rendered"] = legacy or ""
                out["answer"] = out["answer"] or None
    else:
        status = str(turn.get("status") or "answered")
        if status in ("answered", "no_basis"):
            out["answer"] = turn.get("final_answer") or None
            out["rendered"] = out["answer"] or ""
    message = MESSAGES.get(status, status)
    if status == "refused" and turn.get("final_answer"):
        message = str(turn["final_answer"])  # the policy's refusal text is what the asker was shown
    return TurnResult(status=status, message=message, **out)
