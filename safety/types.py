"""Data types shared by the safety layer, the audit trail and the assistant pipeline.

They live in `safety` (not `assistant`) because `safety` must never import `assistant`,
while the pipeline imports these freely.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

Action = Literal["allow", "refuse", "flag", "amend"]
Decision = Literal["approve", "edit", "reject"]
TurnStatus = Literal["answered", "refused", "no_basis", "under_review", "error"]


class Question(BaseModel):
    """A user question as the safety layer sees it."""

    text: str
    domain: str = Field(description="Resolved domain (legal, medical, …)")
    client_id: str | None = None


class Citation(BaseModel):
    """One 【依据】 entry: an article of a statute or a section of a guideline, with its verbatim text once verified.

    A statute is cited by article (`article_no`/`article_label`, optionally a `clause` such as 第（五）项), a
    guideline by its heading path (`section`). Verification fills `text`, `passage_id` and the document's
    edition and provenance from the retrieved passage."""

    law: str = Field(description="Short title: 劳动合同法 / 流行性感冒诊疗方案（2025年版）")
    article_no: int | None = None
    article_label: str = Field(default="", description="第四十七条 / 第一百二十条之一, as in the source")
    clause: str = Field(
        default="", description="The 款/项 the answer rests on, e.g. 第（五）项; '' = whole article"
    )
    section: str = Field(default="", description="Guidelines: heading path joined by ' > '; '' for statutes")
    passage_id: str | None = Field(default=None, description="Id of the retrieved Passage it was matched to")
    text: str = Field(default="", description="Verbatim article/section text from the knowledge base")
    version: str = Field(default="", description="Version (edition) date of the document, YYYY-MM-DD")
    effective_date: str = Field(default="", description="Date it took effect, YYYY-MM-DD, when known")
    kind: str = Field(
        default="", description="法律 | 行政法规 | 司法解释 | 部门规章 | 指南 | …; '' when unknown"
    )
    source: str = Field(
        default="", description="Provenance as the source states it (issuing body, official URL)"
    )
    origin: str = Field(default="", description="official | local (a curator's upload); '' when unknown")

    @property
    def ref(self) -> str:
        """How the citation reads: 《劳动合同法》第四十六条第（五）项 / 《流行性感冒诊疗方案（2025年版）》十、治疗."""
        if self.section and self.article_no is None:
            return f"《{self.law}》{self.section}"
        label = self.article_label or (f"第{self.article_no}条" if self.article_no is not None else "")
        return f"《{self.law}》{label}{self.clause if label else ''}"


class Answer(BaseModel):
    """A parsed structured answer: 【分类】 / 【要点】 / 【依据】 plus the disclaimer."""

    category: str = ""
    points: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    disclaimer: str = ""
    raw: str = Field(default="", description="The generator's raw text this was parsed from")


class Verdict(BaseModel):
    """The outcome of one safety rule (or of the combined policy)."""

    action: Action = "allow"
    rule: str = Field(default="", description="Name of the rule that decided, e.g. refuse.weapons")
    category: str = ""
    message: str = Field(default="", description="Text shown to the user when refusing / holding")
    details: dict = Field(default_factory=dict)


class Notice(BaseModel):
    """A message shown with an answer because of what the question says (never refuses or holds it):
    red-flag symptoms → call 120 first, suicidal words → crisis hotlines first, individual dosing or
    diagnosis → consult a doctor, last (before the disclaimer)."""

    name: str = Field(description="The policy's notice rule, e.g. red_flag")
    message: str
    position: Literal["first", "last"] = "first"


class Turn(BaseModel):
    """Everything the audit trail stores about one question/answer turn."""

    turn_id: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    domain: str
    question: str
    status: TurnStatus
    retrieved: list[dict] = Field(
        default_factory=list,
        description="[{id, content_hash, score, origin[, uploader]}] of retrieved passages",
    )
    generator_kind: str = ""
    generator_model: str = ""
    adapter_name: str = ""
    adapter_version: str = ""
    kb_version: str = ""
    raw_answer: str = ""
    final_answer: str = ""
    verdicts: list[Verdict] = Field(default_factory=list)
    flagged: bool = False
    latency_ms: float = 0.0
    client_id: str | None = None
    conversation_id: str | None = Field(default=None, description="The conversation the turn belongs to")
    standalone_question: str = Field(
        default="", description="The question as resolved against its conversation (empty: unchanged)"
    )


class ReviewItem(BaseModel):
    """A flagged turn waiting for (or after) human review."""

    turn_id: str
    created_at: datetime
    domain: str
    question: str
    final_answer: str
    raw_answer: str = ""
    retrieved: list[dict] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    state: Literal["pending", "approved", "edited", "rejected"] = "pending"
    history: list[dict] = Field(default_factory=list)
