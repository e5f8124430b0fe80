"""Request and response bodies of the HTTP API (pydantic; the OpenAPI docs at /docs are built from these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.release import ReleasedAnswer

CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"  # assistant.conversation.CONVERSATION_ID


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: `{"error": {"type", "code", "message"}}` (the OpenAI error shape)."""

    type: str
    code: int
    message: str
    reason: str | None = Field(
        default=None,
        description="Why the input was rejected: invalid_text | empty_question | question_too_long",
    )
    turn_id: str | None = Field(default=None, description="The audited turn, when the request was one")


class ErrorResponse(BaseModel):
    error: ErrorBody


class AskRequest(BaseModel):
    """POST /v1/ask and /v1/ask/stream."""

    model_config = ConfigDict(extra="forbid")
    # No min_length: a blank question must reach the pipeline so the turn is audited (answered with a 422).
    question: str = Field(description="The question, in Chinese")
    domain: str = Field(default="auto", description="legal | medical | auto (or 法律 / 医疗 / 自动)")
    conversation_id: str | None = Field(
        default=None,
        pattern=CONVERSATION_ID_PATTERN,
        description="Continue a conversation: a follow-up (「那可以要求经济补偿吗？」) is resolved against its "
        "earlier turns. Omit it to start one; every answer returns the id to send next time.",
    )


class ChatMessage(BaseModel):
    """One OpenAI chat message; content may be a string or a list of text parts."""

    # OpenAI clients send fields we do not use (name, tool_calls…): accept and ignore them.
    model_config = ConfigDict(extra="ignore")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text, joining text parts."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(p.get("text", "")) for p in self.content if p.get("type") in (None, "text"))


class ChatCompletionRequest(BaseModel):
    """POST /v1/chat/completions (OpenAI-compatible). Sampling knobs are accepted and ignored:
    answers are grounded and deterministic by design."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(default="auto", description="A domain (legal, medical), an adapter name, or auto")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    user: str | None = None
    conversation_id: str | None = Field(
        default=None,
        pattern=CONVERSATION_ID_PATTERN,
        description="yiju extension: the audit's conversation id for these turns (default: derived from the "
        "client and the first user message). All messages are used to understand the last one either way.",
    )


class FeedbackRequest(BaseModel):
    """POST /v1/feedback: an asker's 👍/👎 on one answer, with an optional comment."""

    model_config = ConfigDict(extra="forbid")
    turn_id: str = Field(min_length=8, max_length=64, description="The answer's turn id (AskResult.turn_id)")
    rating: Literal["up", "down"] = Field(description="up = 👍 helpful, down = 👎 not helpful")
    comment: str = Field(default="", max_length=2000, description="What was wrong or missing (optional)")


class FeedbackResponse(BaseModel):
    id: int
    turn_id: str
    rating: Literal["up", "down"]


class ReviewRequest(BaseModel):
    """POST /v1/audit/{turn_id}/approve|edit|reject."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=4000, description="Internal note, kept in the audit trail")
    asker_note: str = Field(
        default="", max_length=2000, description="A note shown to the asker (GET /v1/ask/{turn_id})"
    )
    edited_answer: str | None = Field(
        default=None,
        max_length=20000,
        description="Required for edit: 【分类】/【要点】/【依据】; it may cite only what was retrieved for the turn "
        "or is listed in `picks`",
    )
    picks: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Edit only: knowledge-base articles the edit may cite besides the retrieved ones "
        "(劳动合同法第四十七条, or passage ids)",
    )


class ReviewResponse(BaseModel):
    turn_id: str
    decision: Literal["approve", "edit", "reject"]
    reviewer: str
    released: ReleasedAnswer | None = Field(
        default=None, description="What the asker now sees (approve/edit): verified, with the disclaimer"
    )


class RemoveResponse(BaseModel):
    law: str
    version: str | None
    removed: int


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    pipeline: Literal["ready", "unavailable"]
    detail: str = ""
