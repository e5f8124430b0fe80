"""Grounding an answer a reviewer releases: the same parse + verification as a generated answer.

Added by screens for the review path (NOTES/CONTRACTS.md §6); owned by grounding.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.grounding.citations import Grounding, ground
from assistant.grounding.format import parse
from knowledge.types import Passage


def ground_text(text: str, passages: Sequence[Passage], *, disclaimer: str) -> Grounding:
    """Parse `text` (【分类】/【要点】/【依据】, rendered or bare references), verify it against `passages` (the
    turn's retrieved passages plus any a reviewer picked) and attach `disclaimer` — never the text's own.

    Raises `AnswerFormatError` when the structure is missing; `Grounding.removed` / `scrubbed_points` say
    what could not be verified."""
    result = ground(parse(text), passages)
    return result.model_copy(update={"answer": result.answer.model_copy(update={"disclaimer": disclaimer})})
