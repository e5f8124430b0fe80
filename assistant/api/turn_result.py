"""What an asker may see of one audited turn: the reviewed answer once a reviewer decided, never before.

Shared by `GET /v1/ask/{turn_id}` and the chat screen's "查看审核结果" button, so both say the same thing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

TurnState = Literal[
    "under_review", "approved", "edited", "rejected", "answered", "refused", "no_basis", "error"
]

MESSAGES: dict[str, str] = {
    "under_review": "该回答仍在人工审核中，请稍后再查看。(Still under review; check again later.)",
    "approved": "审核通过。(Approved by a reviewer.)",
    "edited": "审核人员修改后发布。(Edited and released by a reviewer.)",
    "rejected": "审核未通过，该回答不予发布。请换一种问法或咨询专业人士。(Rejected by a reviewer; not released.)",
    "answered": "该问题已直接作答。(Answered without review.)",
    "refused": "该问题无法回答。(Refused.)",
    "no_basis": "知识库中没有找到可依据的条文。(No basis found.)",
    "error": "该问题处理出错，请重新提问。(The turn failed; please ask again.)",
}


class TurnResult(BaseModel):
    """GET /v1/ask/{turn_id}: a turn's state as its asker sees it."""

    turn_id: str
    status: str = Field(
        description="under_review | approved | edited | rejected (held turns); answered | refused | no_basis | error"
    )
    answer: str | None = Field(
        default=None,
        description="The released answer (the approved or the reviewer's edited text); null while under review, "
        "when rejected, and for refused or failed turns",
    )
    message: str


def turn_result(audit: Any, turn_id: str) -> TurnResult | None:
    """The asker's view of `turn_id` from the audit store, or None when no such turn was recorded.

    A held answer is only returned after a reviewer approved it (the stored answer) or edited it (their text).
    """
    turn = audit.get(turn_id)
    if turn is None:
        return None
    review_state = turn.get("review_state")
    turn_status = str(turn.get("status") or "")
    answer: str | None = None
    if review_state is not None:
        # A flagged turn: only a decision releases anything.
        status = "under_review" if review_state == "pending" else str(review_state)
        if status == "approved":
            answer = turn.get("final_answer") or None
        elif status == "edited":
            answer = turn.get("edited_answer") or None
    else:
        status = turn_status or "answered"
        if status in ("answered", "no_basis"):
            answer = turn.get("final_answer") or None
    message = MESSAGES.get(status, status)
    if status == "refused" and turn.get("final_answer"):
        message = str(turn["final_answer"])  # the policy's refusal text is what the asker was shown
    return TurnResult(turn_id=turn_id, status=status, answer=answer, message=message)
