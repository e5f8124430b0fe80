"""The one interface every answer generator implements, and the parameters a call carries.

A generator turns chat messages into text in the 【分类】/【要点】/【依据】 format. It never sees the
user directly: the pipeline parses, verifies and safety-checks whatever it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from assistant.domains import DomainSpec
from knowledge.types import Passage


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class GenParams(BaseModel):
    """Per-call parameters. `question`, `domain` and `passages` are context for generators that need it
    (the extractive one builds its answer from them; LLM backends read only the messages)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    max_new_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    adapter: str | None = Field(default=None, description="LoRA adapter / served model to use; None = base")
    question: str = ""
    domain: DomainSpec | None = None
    passages: list[Passage] = Field(default_factory=list)
    term_weights: dict[str, float] = Field(
        default_factory=dict, description="How distinctive each question word is (corpus IDF); {} = uniform"
    )


@runtime_checkable
class Generator(Protocol):
    """extractive | transformers_peft | openai_compat (or a test's queued generator): every method here is
    one the pipeline calls."""

    kind: str

    @property
    def model_name(self) -> str:
        """Model identifier recorded in the audit trail."""
        ...

    def resolve_adapter(self, adapter: str | None) -> str | None:
        """The adapter that really runs for a requested one: its name, or None for the base model (no
        adapter of that name). Raises `GeneratorError` for a corrupt adapter directory."""
        ...

    def adapter_path(self, adapter: str | None) -> Path | None:
        """The directory the adapter's weights were loaded from (the audit reads its manifest), or None
        when the backend has no directories (served models, extractive)."""
        ...

    def generate(self, messages: Sequence[Message], params: GenParams) -> str:
        """Return the whole answer text. Raises `assistant.errors.GeneratorError` on backend failure.

        There is no token streaming: the pipeline releases text only after citation verification and the
        output check (`Pipeline.ask_stream` streams the checked answer)."""
        ...

    def close(self) -> None:
        """Release clients / model memory."""
        ...
