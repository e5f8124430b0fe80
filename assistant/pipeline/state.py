"""What one turn carries: the caller's `AskResult`, the mutable `TurnState` and question clean-up."""

from __future__ import annotations

import re
import time
import unicodedata

from pydantic import BaseModel, Field

from assistant.conversation import RoutingInfo
from knowledge.types import Passage
from safety.types import Citation, Notice, TurnStatus, Verdict

# Control and format characters (zero-width joiners, bidi overrides…) can hide words from keyword rules.
_INVISIBLE = {"Cc", "Cf", "Co", "Cs"}
_SPACES = re.compile(r"[ \t\u3000]+")


class AskResult(BaseModel):
    """What a caller gets back for one question (the HTTP API returns it as JSON)."""

    turn_id: str | None = Field(default=None, description="Audit id of this turn")
    domain: str
    status: TurnStatus
    category: str = ""
    points: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(
        default_factory=list, description="Verified: retrieved, with verbatim text"
    )
    disclaimer: str = ""
    flags: list[str] = Field(default_factory=list, description="What went wrong or was changed on the way")
    message: str = Field(
        default="", description="Refusal / no-basis / under-review / error text for the user"
    )
    rendered: str = Field(default="", description="The full text shown to the user")
    latency_ms: float = 0.0
    generator: str = ""
    adapter: str | None = None
    conversation_id: str | None = Field(default=None, description="The conversation this turn belongs to")
    standalone_question: str = Field(
        default="",
        description="What was searched for when a follow-up was rewritten with the conversation's context "
        "(empty when the question stood alone); shown as 理解为：…",
    )
    routing: RoutingInfo | None = Field(default=None, description="How the domain was chosen")
    notices: list[Notice] = Field(
        default_factory=list,
        description="Shown with the answer because of what the question says: position first (red-flag "
        "symptoms → call 120, crisis hotlines) before everything, last (consult a doctor) before the "
        "disclaimer; already part of `rendered`",
    )


class TurnState:
    """Mutable record of one turn while it moves through the pipeline (becomes the audit `Turn`)."""

    def __init__(self, question: str, domain: str, client_id: str | None) -> None:
        self.t0 = time.perf_counter()
        self.question = question
        self.query = question  # what retrieval and the generator see (injection phrases removed)
        self.domain = domain
        self.client_id = client_id
        self.retrieved: list[Passage] = []
        self.weights: dict[str, float] = {}  # the question words' corpus weights (relevance gate, composer)
        self.verdicts: list[Verdict] = []
        self.flags: list[str] = []
        self.raw = ""
        self.generator_kind = ""
        self.generator_model = ""
        self.adapter: str | None = None  # the generator's name for the adapter that runs
        self.adapter_label = ""  # what the audit records: the adapter manifest's name when there is one
        self.adapter_version = ""
        self.conversation_id: str | None = None
        self.standalone = question  # the question resolved against the conversation (convo's step)
        self.routing: RoutingInfo | None = None
        self.notices: list[Notice] = []  # safety's input step: red flag / crisis / consult a doctor

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)

    @property
    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000.0


def has_lone_surrogate(text: str) -> bool:
    """True when `text` holds a lone UTF-16 surrogate (valid in a Python str, not in UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_question(text: str) -> str:
    """Drop invisible/control characters, normalise spaces; keep every visible character (any script)."""
    kept = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in _INVISIBLE)
    lines = [_SPACES.sub(" ", ln).strip() for ln in kept.splitlines()]
    return "\n".join(ln for ln in lines if ln)
