"""Releasing a held answer after review — through the same output path as any answer.

```
approve: the held answer ─┐
edit:    reviewer's text ─┴▶ grounding.ground_text (parse, verify against the turn's retrieved passages
                              + articles the reviewer picked, domain disclaimer) ─▶ render ─▶ audit.resolve
reject:  nothing is released; an optional note for the asker
```
The released answer is stored with the decision (a new append-only row, `released`), so the asker gets
exactly what the reviewer saw in the preview: `GET /v1/ask/{turn_id}` and the chat read it back.

An edit is refused (`ReleaseError`, naming what is wrong) when its structure is missing, when it cites
anything that was neither retrieved for the turn nor picked by the reviewer, or when nothing it cites can be
verified: a reviewer cannot release a citation the system could not show verbatim. An approval re-verifies
the held answer against the passages still in the knowledge base, so a law removed since is not cited.
The output keyword check is not run again: the reviewer is that check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from assistant.grounding import AnswerFormatError, ground_text, render
from knowledge.errors import YijuError
from knowledge.types import Passage
from safety.audit import ReviewConflict, ReviewNotFound
from safety.types import Citation, Decision

MAX_PICKS = 20


class ReleaseError(YijuError, ValueError):
    """A decision that cannot be released as asked; the message is for the reviewer (Chinese)."""


class ReleasedAnswer(BaseModel):
    """What the asker of a held turn is shown once a reviewer approved or edited it."""

    category: str
    points: list[str]
    citations: list[Citation] = Field(description="Verified: retrieved or picked, with verbatim text")
    disclaimer: str
    rendered: str = Field(description="The full text, as `grounding.render` writes any answer")
    removed: list[str] = Field(
        default_factory=list,
        description="Citations of an approved answer no longer in the knowledge base (left out)",
    )


def passages_by_id(kb: Any, ids: Iterable[str]) -> dict[str, Passage]:
    """The stored passages with these ids (ids of removed laws are absent)."""
    return kb.passages([i for i in ids if i])


def turn_passages(kb: Any, turn: dict) -> list[Passage]:
    """The passages retrieved for an audited turn that are still in the knowledge base, in rank order."""
    ids = [str(entry.get("id", "")) for entry in turn.get("retrieved") or []]
    found = passages_by_id(kb, ids)
    return [found[i] for i in ids if i in found]


def pick_passages(kb: Any, picks: Sequence[str]) -> list[Passage]:
    """Articles a reviewer adds to what an edit may cite: passage ids, or references such as
    劳动合同法第四十七条 / 《中华人民共和国劳动合同法》第四十七条. ReleaseError names any that is not found."""
    picks = [p.strip() for p in picks if p and p.strip()]
    if len(picks) > MAX_PICKS:
        raise ReleaseError(f"补充依据最多 {MAX_PICKS} 条（现有 {len(picks)} 条）。")
    out: list[Passage] = []
    for pick in picks:
        passage = kb.resolve(pick)  # a passage id (any key, e.g. 120-1) or a reference (…第一百二十条之一)
        if passage is None:
            raise ReleaseError(
                f"补充依据「{pick}」在知识库中没有找到；请写成“法规名称第X条”，例如：劳动合同法第四十七条。"
            )
        out.append(passage)
    return out


def _refs(citations: Sequence[Citation]) -> str:
    return "、".join(c.ref if hasattr(c, "ref") else f"《{c.law}》{c.article_label}" for c in citations)


def prepare_release(
    pipeline: Any,
    turn: dict,
    decision: Decision,
    *,
    edited_answer: str | None = None,
    picks: Sequence[str] = (),
) -> ReleasedAnswer | None:
    """The answer a decision would release (None for a reject); ReleaseError when it cannot be released."""
    if decision == "reject":
        return None
    passages = turn_passages(pipeline.kb, turn)
    if decision == "edit":
        passages += pick_passages(pipeline.kb, picks)
        text = edited_answer or ""
    else:
        text = str(turn.get("final_answer") or "")
    if not text.strip():
        raise ReleaseError("修改后的回答不能为空。" if decision == "edit" else "该问题没有可发布的回答。")
    try:
        result = ground_text(text, passages, disclaimer=pipeline.disclaimer(turn["domain"]))
    except AnswerFormatError as exc:
        raise ReleaseError(
            f"回答格式不完整：需要【分类】、【要点】（至少一条）和【依据】三部分。（{exc}）"
        ) from None
    answer = result.answer
    if decision == "edit":
        if result.removed:
            raise ReleaseError(
                f"以下引用既不在该问题检索到的条文中，也不在补充依据里：{_refs(result.removed)}。"
                "请删除这些引用，或把条文加入“补充依据”。"
            )
        if result.scrubbed_points:
            raise ReleaseError(
                "要点中提到了未能核实的条文（既未检索到，也不在补充依据里）；请删除该引用，或把条文加入“补充依据”。"
            )
        if not answer.citations:
            raise ReleaseError(
                "修改后的回答没有可核实的依据：请在【依据】中列出至少一条检索到的或补充的条文。"
            )
    elif not answer.citations:
        raise ReleaseError("该回答引用的条文已不在知识库中（可能已被删除），不能原样通过；请修改或驳回。")
    return ReleasedAnswer(
        category=answer.category,
        points=answer.points,
        citations=answer.citations,
        disclaimer=answer.disclaimer,
        rendered=render(answer),
        removed=[c.ref if hasattr(c, "ref") else c.law for c in result.removed],
    )


def release_decision(
    pipeline: Any,
    turn_id: str,
    reviewer: str,
    decision: Decision,
    *,
    note: str = "",
    asker_note: str = "",
    edited_answer: str | None = None,
    picks: Sequence[str] = (),
    reviewer_client_id: str | None = None,
) -> ReleasedAnswer | None:
    """Decide a held turn: build what is released (see `prepare_release`) and record the decision.

    `reviewer_client_id` is the deciding key's client id: a reviewer may not decide their own question.
    Raises ReviewNotFound for an unknown turn, ReleaseError when the answer cannot be released as asked,
    and what `audit.resolve` raises (ReviewConflict when someone decided first, SelfReview, ValueError)."""
    audit = pipeline.audit
    turn = audit.get(turn_id)
    if turn is None or turn.get("review_state") is None:
        raise ReviewNotFound(f"no review item for turn {turn_id}")
    if turn["review_state"] != "pending":  # decided already: say so before judging this decision's text
        raise ReviewConflict(f"turn {turn_id} was already decided ({turn['review_state']})")
    released = prepare_release(pipeline, turn, decision, edited_answer=edited_answer, picks=picks)
    audit.resolve(
        turn_id,
        reviewer,
        decision,
        note=note or "",
        edited_answer=edited_answer if decision == "edit" else None,
        asker_note=(asker_note or "").strip(),
        released=released.model_dump(mode="json") if released is not None else None,
        reviewer_client_id=reviewer_client_id,
    )
    return released


def compact_answer(text: str) -> str:
    """A held answer as a reviewer edits it: the three sections with bare references (no statute text,
    no disclaimer — both are added again on release). The text itself when it does not parse."""
    from assistant.grounding import parse

    try:
        return render(parse(text), with_text=False, with_disclaimer=False)
    except AnswerFormatError:
        return text


__all__ = [
    "MAX_PICKS",
    "ReleaseError",
    "ReleasedAnswer",
    "compact_answer",
    "passages_by_id",
    "pick_passages",
    "prepare_release",
    "release_decision",
    "turn_passages",
]
