"""Prompt building: the domain's system message and user template filled with the retrieved articles."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.domains import DomainSpec
from assistant.generators.base import Message
from knowledge.types import Passage

MAX_PASSAGE_CHARS = 600


def format_passages(passages: Sequence[Passage], max_chars: int = MAX_PASSAGE_CHARS) -> str:
    """Numbered article list for the prompt: `[1] 《劳动合同法》第四十七条：…`."""
    lines = []
    for i, p in enumerate(passages, 1):
        text = p.text if len(p.text) <= max_chars else p.text[: max_chars - 1] + "…"
        lines.append(f"[{i}] {p.citation}：{text}")
    return "\n".join(lines) if lines else "（无）"


def _fill(template: str, **values: str) -> str:
    # str.format would choke on braces in user text; substitute only the known placeholders.
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


def build_messages(question: str, domain: DomainSpec, passages: Sequence[Passage]) -> list[Message]:
    """System + user messages for one question. The question goes in last, fenced, after the rules."""
    user = _fill(
        domain.prompt.user,
        question=question,
        passages=format_passages(passages),
        categories="、".join(domain.category_names),
        title=domain.title,
    )
    return [
        Message(role="system", content=domain.prompt.system.strip()),
        Message(role="user", content=user.strip()),
    ]


def build_repair_messages(
    messages: Sequence[Message], bad_output: str, problem: str, domain: DomainSpec
) -> list[Message]:
    """The conversation plus the malformed answer and one request to re-answer in the format."""
    request = _fill(domain.prompt.repair, problem=problem, categories="、".join(domain.category_names))
    return [
        *messages,
        Message(role="assistant", content=bad_output[:4000]),
        Message(role="user", content=request),
    ]
