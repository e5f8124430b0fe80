"""The answer pipeline: one question through safety, retrieval, generation, verification and audit.

```
question ─▶ policy.check_input ─▶ kb.retrieve ─▶ basis filter ─▶ prompt ─▶ Generator.generate
         ─▶ grounding.parse (one repair) ─▶ grounding.ground ─▶ policy.check_output
         ─▶ disclaimer (domain's, else policy's) ─▶ audit.record ─▶ AskResult
```
Guarantees that no question text can switch off (they are code, not prompt): every citation shown is a
retrieved article with its verbatim text; citations the generator invents are removed (also inside key
points) and the turn is flagged; flagged output is held for review and the user sees only the hold
message; the disclaimer is always attached; every turn — refused, no basis, held, failed — is audited.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.config import YijuConfig, load_config
from assistant.conversation import (
    PriorTurn,
    Resolution,
    RoutingInfo,
    history_from_audit,
    history_from_messages,
    resolve,
)
from assistant.domains import DomainSpec, load_domains
from assistant.errors import DomainError
from assistant.generators import Generator, GenParams, build_generator
from assistant.generators.config import ExtractiveConfig
from assistant.generators.extractive import ExtractiveGenerator
from assistant.grounding import AnswerFormatError, ground, normalise_category, parse, render
from assistant.grounding.basis import judge_basis, no_basis_hint
from assistant.grounding.relevance import corpus_weights, topic_words
from assistant.prompt import build_messages, build_repair_messages
from assistant.refusal import find_forbidding_article, render_refusal
from assistant.routing import route
from knowledge.types import Passage
from safety.types import Answer, Citation, Notice, Question, Turn, TurnStatus, Verdict

log = logging.getLogger(__name__)

# Control and format characters (zero-width joiners, bidi overrides…) can hide words from keyword rules.
_INVISIBLE = {"Cc", "Cf", "Co", "Cs"}
_SPACES = re.compile(r"[ \t\u3000]+")
_STREAM_PIECE = re.compile(r"[^。；\n]*[。；\n]|[^。；\n]+$")


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


class _TurnState:
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


class Pipeline:
    """Answers questions. Build with `Pipeline.from_home(home)`; thread-safe for concurrent `ask` calls."""

    def __init__(
        self,
        *,
        kb: Any,
        audit: Any,
        domains: Mapping[str, DomainSpec],
        generator: Generator,
        policies: Mapping[str, Any] | None = None,
        config: YijuConfig | None = None,
        home: Path | None = None,
        fallback_to_extractive: bool | None = None,
        default_domain: str = "legal",
    ) -> None:
        """Wire the parts; `policies` defaults to loading each domain's `safety_policy`."""
        self.kb = kb
        self.audit = audit
        self.home = home
        self.config = config or YijuConfig()
        self._domains = dict(domains)
        if not self._domains:
            raise DomainError("no domains configured")
        self.default_domain = default_domain if default_domain in self._domains else next(iter(self._domains))
        self.generator = generator
        self.policies = dict(policies) if policies is not None else load_policies(self._domains)
        missing = [d for d in self._domains if d not in self.policies]
        if missing:
            raise DomainError(f"no safety policy for domain(s): {', '.join(missing)}")
        bare = [d for d, spec in self._domains.items() if not _disclaimer_for(spec, self.policies[d])]
        if bare:
            raise DomainError(f"no disclaimer for domain(s) {', '.join(bare)}: set one in domain.yaml")
        if fallback_to_extractive is None:
            fallback_to_extractive = bool(
                getattr(getattr(generator, "config", None), "fallback_to_extractive", True)
            )
        self.fallback_to_extractive = fallback_to_extractive
        extractive_cfg = self.config.generator_config() if self.config else None
        self._adapter_ids: dict[Path, tuple[str, str]] = {}
        # How distinctive each question word is, from the KB's own index (the relevance gate's weights).
        self._term_weights = corpus_weights(kb)
        self._extractive = (
            generator
            if isinstance(generator, ExtractiveGenerator)
            else ExtractiveGenerator(extractive_cfg if isinstance(extractive_cfg, ExtractiveConfig) else None)
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_home(cls, home: Path, config: YijuConfig | None = None) -> Pipeline:
        """The production wiring: KB, audit store, domains, policies and generator from one data directory."""
        from assistant.stores import audit_store
        from knowledge.kb import KnowledgeBase

        home = Path(home)
        config = config or load_config(None, home)
        domains = load_domains([p if p.is_absolute() else home / p for p in config.domains_dirs])
        policies = load_policies(domains)
        kb = KnowledgeBase.open(home, config.knowledge_config())
        masker = _combined_masker(policies.values())
        audit = audit_store(home, config, mask_pii=masker)
        generator = build_generator(config.generator_config(), home)
        return cls(
            kb=kb,
            audit=audit,
            domains=domains,
            generator=generator,
            policies=policies,
            config=config,
            home=home,
            default_domain=config.default_domain,
        )

    @property
    def domains(self) -> list[str]:
        """Names of the configured domains."""
        return list(self._domains)

    def domain_spec(self, name: str) -> DomainSpec:
        """The `DomainSpec` of a configured domain (DomainError for an unknown one)."""
        try:
            return self._domains[name]
        except KeyError as exc:
            raise DomainError(f"unknown domain {name!r}; known: {', '.join(self._domains)}") from exc

    def disclaimer(self, domain: str) -> str:
        """The disclaimer every answer of `domain` carries (domain.yaml's, else its safety policy's); also
        attached to answers a reviewer releases (`assistant.release`)."""
        spec = self.domain_spec(domain)
        return _disclaimer_for(spec, self.policies[spec.name])

    def resolve_domain(self, question: str, domain: str | None = "auto") -> str:
        """`auto` (or empty) → the routing classifier's choice; otherwise the name itself, validated."""
        if not domain or domain == "auto":
            return route(question, self._domains, self.default_domain).domain
        return self.domain_spec(domain).name

    def warm(self, query: str = "劳动合同 解除 经济补偿") -> float:
        """Load what the first turn would otherwise load lazily; returns the seconds it took.

        One plain retrieval builds the KB's index snapshot (BM25, bigram index, tokeniser dictionary) and
        loads the embedder and vector store, so a turn's audited `latency_ms` measures the turn, not a
        one-time start-up. A retrieval is not a turn: nothing is audited. Raises the knowledge errors
        (bad embedder path, store down) the first turn would hit; the caller decides what to do with them.
        """
        t0 = time.perf_counter()
        self.kb.retrieve(query, k=1)
        return time.perf_counter() - t0

    def close(self) -> None:
        """Release the generator (model memory, HTTP clients)."""
        for part in (self.generator,):
            closer: Callable[[], None] | None = getattr(part, "close", None)
            if closer:
                closer()

    # ------------------------------------------------------------------ public API
    def ask(
        self,
        question: str,
        domain: str = "auto",
        client_id: str | None = None,
        *,
        conversation_id: str | None = None,
        history: Sequence[PriorTurn] | None = None,
    ) -> AskResult:
        """Answer one question; never raises for bad input or generator failures (status "error" instead).

        A follow-up is resolved against `history` (earlier turns, oldest first) or, when only
        `conversation_id` is given, against that conversation's audited turns.
        Raises `knowledge.errors.StoreUnavailable` (after auditing the turn) when the vector store is down,
        so the HTTP layer can answer 503.
        """
        return self._run(question, domain, client_id, conversation_id, history)

    def ask_stream(
        self,
        question: str,
        domain: str = "auto",
        client_id: str | None = None,
        *,
        conversation_id: str | None = None,
        history: Sequence[PriorTurn] | None = None,
    ) -> Iterator[dict]:
        """Yield `{"type": "token", "text"}` pieces of the *checked* answer, then one `{"type": "final"}`.

        Tokens are released only after citation verification and the output safety check: streaming raw
        generator tokens would show unverified citations or text that must be held for review.
        """
        result = self._run(question, domain, client_id, conversation_id, history)
        for piece in _STREAM_PIECE.findall(result.rendered):
            if piece:
                yield {"type": "token", "text": piece}
        yield {"type": "final", "result": result}

    # ------------------------------------------------------------------ conversation (convo's step)
    def resolve_turn(
        self, question: str, domain: str | None = "auto", history: Sequence[PriorTurn] = ()
    ) -> Resolution:
        """Resolve a question against its conversation: standalone question, domain and how it was chosen.

        Pure (nothing is audited); DomainError for an unknown requested domain."""
        requested = None if not domain or domain == "auto" else self.domain_spec(domain).name
        return resolve(
            clean_question(question), history, self._domains, requested=requested, default=self.default_domain
        )

    def replay_history(self, questions: Sequence[str], domain: str | None = "auto") -> list[PriorTurn]:
        """Earlier questions of a conversation (oldest first) resolved one after another, as they were
        understood: the history of a client that sends the whole conversation (OpenAI messages)."""
        requested = None if not domain or domain == "auto" else self.domain_spec(domain).name
        cleaned = [("user", clean_question(q)) for q in questions if isinstance(q, str)]
        return history_from_messages(cleaned, self._domains, requested, self.default_domain)

    def conversation_history(self, conversation_id: str) -> list[PriorTurn]:
        """The audited turns of a conversation, oldest first ([] for an unknown or invalid id)."""
        return history_from_audit(self.audit, conversation_id)

    # ------------------------------------------------------------------ the flow
    def _run(
        self,
        question: str,
        requested_domain: str,
        client_id: str | None,
        conversation_id: str | None = None,
        history: Sequence[PriorTurn] | None = None,
    ) -> AskResult:
        text = clean_question(question) if isinstance(question, str) else ""
        state = _TurnState(text or (question if isinstance(question, str) else repr(question)), "", client_id)
        state.conversation_id = conversation_id
        if history is None and conversation_id:
            history = self.conversation_history(conversation_id)
        try:
            resolution = self.resolve_turn(text, requested_domain, history or ())
        except DomainError as exc:
            state.domain = str(requested_domain)[:40]
            state.flag("unknown_domain")
            return self._finish_error(
                state, None, f"未知的领域：{requested_domain}（可选：{'、'.join(self.domains)}）", exc
            )
        domain_name = resolution.domain
        state.standalone = resolution.standalone or text
        state.routing = resolution.info()
        if resolution.rewritten:
            state.flag("follow_up_rewritten")
        spec = self._domains[domain_name]
        state.domain = domain_name
        limit = self.config.server.max_question_chars
        if isinstance(question, str) and has_lone_surrogate(question):
            # Not text (a UTF-16 half, e.g. JSON "\ud800"): refused, and audited with it escaped.
            state.question = question.encode("utf-8", "backslashreplace").decode("utf-8")
            state.flag("invalid_text")
            return self._finish_error(state, spec, "问题包含无法识别的字符（不成对的代理码），请重新输入。")
        if not text:
            state.flag("empty_question")
            return self._finish_error(state, spec, "问题不能为空，请输入要咨询的问题。")
        if len(text) > limit:
            state.flag("question_too_long")
            return self._finish_error(state, spec, f"问题过长（{len(text)} 字），请精简到 {limit} 字以内。")
        try:
            return self._answer(state, spec)
        except Exception as exc:  # noqa: BLE001 - every failure is audited; StoreUnavailable re-raised below
            if _is_store_unavailable(exc):
                state.flag("store_unavailable")
                self._finish_error(state, spec, "知识库暂时无法访问，请稍后再试。", exc)
                raise
            if _is_knowledge_error(exc):
                # A configuration/data problem (bad embedder path, corrupt index…): the user gets its
                # plain description; the traceback is for debugging only.
                log.debug("knowledge error", exc_info=True)
                state.flag("knowledge_error")
                return self._finish_error(state, spec, f"知识库错误：{exc}", exc)
            log.exception("pipeline failure")
            state.flag("internal_error")
            return self._finish_error(state, spec, spec.error_message, exc)

    def _answer(self, state: _TurnState, spec: DomainSpec) -> AskResult:
        policy = self.policies[spec.name]
        q = Question(text=state.question, domain=spec.name, client_id=state.client_id)
        # Red-flag symptoms, suicidal words, individual dosing: shown whatever happens next (refusal,
        # no basis, review hold, error), first or right before the disclaimer.
        notices = getattr(policy, "notices", None)
        state.notices = list(notices(state.question, state.standalone)) if notices else []

        verdict = policy.check_input(q)
        state.verdicts.append(verdict)
        if verdict.action == "refuse":
            return self._refuse(state, spec, policy, verdict)

        if state.standalone != state.question:
            # A follow-up carries earlier turns into what is answered: 「那需要哪些材料？」 after a refused
            # question must be refused too, so the standalone question is checked as well.
            verdict = policy.check_input(q.model_copy(update={"text": state.standalone}))
            state.verdicts.append(verdict)
            if verdict.action == "refuse":
                return self._refuse(state, spec, policy, verdict)

        # Injected instructions ("忽略以上规则…") are kept away from retrieval and the generator; the
        # policy still saw the full text above and will hold the answer for review at output.
        sanitize = getattr(policy, "sanitize_question", None)
        state.query = sanitize(state.standalone) if sanitize else state.standalone
        if sanitize and sanitize(state.question) != state.question:
            state.flag("injection_stripped")
        state.retrieved = self._retrieve(state.query, spec)
        state.weights = self._term_weights(topic_words(state.query))
        decision = judge_basis(state.query, state.retrieved, spec, state.weights)
        basis = decision.passages
        if not basis:
            state.flag("no_basis")
            message = f"{spec.no_basis_message}{no_basis_hint(decision.missing)}"
            return self._finish_message(state, spec, policy, "no_basis", message)

        answer = self._generate_answer(state, spec, basis)
        if answer is None:
            return self._finish_error(state, spec, spec.error_message)
        answer = self._normalise_category(answer, spec, state)
        answer = self._verify(answer, basis, state)
        if not answer.citations:
            # Nothing the generator said is backed by a retrieved article: say so rather than guess.
            state.flag("no_verified_citation")
            state.raw = state.raw or answer.raw
            return self._finish_message(state, spec, policy, "no_basis", spec.no_basis_message)

        # The disclaimer is attached before the output check so the check sees exactly what users would.
        answer = self._with_disclaimer(answer, spec, policy)
        out_verdict = policy.check_output(q, answer, basis, disclaimer=_disclaimer_for(spec, policy))
        state.verdicts.append(out_verdict)
        if out_verdict.action == "amend":
            answer = self._amend(answer, out_verdict, basis, spec, policy, state)
        full = render(answer)
        if out_verdict.action == "flag":
            state.flag("under_review")
            message = spec.review_message
            shown = self._with_disclaimer(Answer(), spec, policy).disclaimer
            return self._record(
                state,
                spec,
                status="under_review",
                final_answer=full,
                result=dict(message=message, disclaimer=shown, rendered=f"{message}\n\n{shown}".strip()),
                flagged=True,
            )
        return self._record(
            state,
            spec,
            status="answered",
            final_answer=full,
            result=dict(
                category=answer.category,
                points=answer.points,
                citations=answer.citations,
                disclaimer=answer.disclaimer,
                rendered=full,
            ),
            flagged="citation_removed" in state.flags,
        )

    # ------------------------------------------------------------------ steps
    def retrieve(self, question: str, domain: str, k: int | None = None) -> list[Passage]:
        """The passages the pipeline retrieves for `question` in `domain` (before the basis filter);
        `k` overrides the domain's `retrieval.k` (evaluation asks for 10)."""
        return self._retrieve(question, self.domain_spec(domain), k)

    def _retrieve(self, question: str, spec: DomainSpec, k: int | None = None) -> list[Passage]:
        r = spec.retrieval
        k = k or r.k
        wanted = set(r.knowledge_domains)
        # Over-fetch: a long guide without 第X条 or section can fill the whole top-k with passages nothing can
        # cite; the extra candidates let citable ones take those places (see _prefer_citable).
        fetch = k * _CITABLE_OVERFETCH
        # Search with the statutes' wording too (社保 -> 社会保险): colloquial words alone match unrelated law.
        query = spec.expand(question)
        if r.filter == "post":
            # One unfiltered search, kept by domain: a filtered vector query scans the whole collection.
            pool = self.kb.retrieve(query, domain=None, k=fetch * r.post_factor, profile=spec.name)
            kept = _prefer_citable([p for p in pool if _serves(p, wanted)], k * len(wanted))
            if len(kept) >= k:
                return kept
        passages: list[Passage] = []
        seen: set[str] = set()
        for kd in r.knowledge_domains:
            for p in _prefer_citable(self.kb.retrieve(query, domain=kd, k=fetch, profile=spec.name), k):
                if p.id not in seen:
                    seen.add(p.id)
                    passages.append(p)
        if len(r.knowledge_domains) > 1:
            passages.sort(key=lambda p: -p.score)
            passages = _prefer_citable(passages, len(passages))
        return passages

    def _generate_answer(self, state: _TurnState, spec: DomainSpec, basis: list[Passage]) -> Answer | None:
        gen = self.generator
        state.generator_kind = getattr(gen, "kind", type(gen).__name__)
        state.generator_model = str(getattr(gen, "model_name", ""))
        uses_adapter = state.generator_kind not in ("extractive",)
        state.adapter = spec.adapter if uses_adapter else None
        messages = build_messages(state.query, spec, basis)
        params = GenParams(
            question=state.query,
            domain=spec,
            passages=basis,
            adapter=state.adapter,
            term_weights=state.weights,
        )
        try:
            resolver = getattr(gen, "resolve_adapter", None)
            if resolver is not None and state.adapter is not None:
                # What really runs (None = base model when no adapter exists for the domain); raises for a
                # corrupt adapter directory, which lands in the fallback below.
                state.adapter = resolver(state.adapter)
                params = params.model_copy(update={"adapter": state.adapter})
                state.adapter_label, state.adapter_version = self._adapter_identity(gen, state.adapter)
            raw = gen.generate(messages, params)
            state.raw = raw
            try:
                return parse(raw)
            except AnswerFormatError as first:
                state.flag("malformed_output")
                raw2 = gen.generate(build_repair_messages(messages, raw, str(first), spec), params)
                state.raw = f"{raw}\n\n--- repair ---\n{raw2}"
                try:
                    answer = parse(raw2)
                    state.flag("repaired")
                    return answer
                except AnswerFormatError as second:
                    return self._fallback(state, spec, basis, "malformed_output", second)
        except AnswerFormatError as exc:  # raised by an odd backend itself
            return self._fallback(state, spec, basis, "malformed_output", exc)
        except Exception as exc:  # noqa: BLE001 - any backend failure: dead server, corrupt adapter, OOM…
            if _is_store_unavailable(exc):
                raise
            log.warning("generator %s failed: %s", state.generator_kind, exc)
            state.flag("generator_error")
            state.verdicts.append(Verdict(action="allow", rule="generator.error", message=str(exc)[:500]))
            return self._fallback(state, spec, basis, "generator_error", exc)

    def _fallback(
        self, state: _TurnState, spec: DomainSpec, basis: list[Passage], reason: str, exc: Exception
    ) -> Answer | None:
        if not self.fallback_to_extractive or state.generator_kind == "extractive":
            state.flag(reason)
            return None
        state.flag("extractive_fallback")
        answer = self._extractive.answer(state.query, basis, spec, state.weights)
        state.raw = f"{state.raw}\n\n--- fallback after {reason}: {str(exc)[:300]} ---\n{render(answer, with_text=False)}"
        return answer

    @staticmethod
    def _normalise_category(answer: Answer, spec: DomainSpec, state: _TurnState) -> Answer:
        category, changed = normalise_category(answer.category, spec)
        if not changed:
            return answer
        state.flag("category_normalised")
        return answer.model_copy(update={"category": category})

    def _verify(self, answer: Answer, basis: list[Passage], state: _TurnState) -> Answer:
        """Keep only retrieved citations (verbatim text filled); scrub unverified ones from the points too."""
        result = ground(answer, basis)
        if result.removed:
            state.verdicts.append(
                Verdict(
                    action="amend",
                    rule="citations.removed",
                    details={"removed": [c.model_dump() for c in result.removed]},
                )
            )
        if result.changed:
            state.flag("citation_removed")
        return result.answer

    @staticmethod
    def _with_disclaimer(answer: Answer, spec: DomainSpec, policy: Any) -> Answer:
        """The domain's disclaimer (domain.yaml) when it sets one, else the safety policy's.

        Always from configuration, never from generated or question text, so an injection cannot remove
        or replace it; `__init__` refuses a domain where both are empty."""
        return answer.model_copy(update={"disclaimer": _disclaimer_for(spec, policy)})

    def _amend(
        self,
        answer: Answer,
        verdict: Verdict,
        basis: list[Passage],
        spec: DomainSpec,
        policy: Any,
        state: _TurnState,
    ) -> Answer:
        """Apply an "amend" verdict: a replacement answer or disclaimer from the policy, re-verified."""
        details = verdict.details if isinstance(verdict.details, dict) else {}
        amended = details.get("answer")
        if isinstance(amended, dict | Answer):
            answer = Answer.model_validate(amended) if isinstance(amended, dict) else amended
            # A replacement goes through verification again: an amendment must not smuggle citations in.
            answer = self._verify(answer, basis, state)
        if isinstance(details.get("disclaimer"), str) and details["disclaimer"].strip():
            answer = answer.model_copy(update={"disclaimer": details["disclaimer"].strip()})
        state.flag("amended")
        return self._with_disclaimer(answer, spec, policy)

    # ------------------------------------------------------------------ input refusal (safety's step)
    def _refuse(self, state: _TurnState, spec: DomainSpec, policy: Any, verdict: Verdict) -> AskResult:
        """A refusal that helps: the category's message and, for an illegal request, the article that
        forbids it (searched in the KB per the policy's `legal_basis`, verified by grounding), with the
        disclaimer. Self-harm keeps its crisis lines first; no article → the plain refusal."""
        notices = getattr(policy, "notices", None)
        if notices:
            state.notices = list(notices(state.question, state.standalone, refused_category=verdict.category))
        bases_for = getattr(policy, "legal_basis", None)
        bases = bases_for(verdict.category, state.standalone) if bases_for and verdict.category else []
        citations = find_forbidding_article(self.kb, bases) if bases else []
        if not citations:
            return self._finish_message(state, spec, policy, "refused", verdict.message)
        state.flag("refusal_cites_law")
        state.verdicts.append(
            Verdict(
                action="allow",
                rule="refusal.legal_basis",
                details={"citations": [f"{c.law}{c.article_label}" for c in citations]},
            )
        )
        disclaimer = self._with_disclaimer(Answer(), spec, policy).disclaimer
        intro = str(getattr(policy, "legal_basis_intro", "") or "")
        rendered = render_refusal(verdict.message, intro, citations, disclaimer)
        return self._record(
            state,
            spec,
            status="refused",
            final_answer=rendered,
            result=dict(
                message=f"{verdict.message.strip()}\n\n{intro}".strip(),
                citations=citations,
                disclaimer=disclaimer,
                rendered=rendered,
            ),
            flagged=False,
        )

    # ------------------------------------------------------------------ finishing
    def _finish_message(
        self, state: _TurnState, spec: DomainSpec, policy: Any, status: TurnStatus, message: str
    ) -> AskResult:
        disclaimer = self._with_disclaimer(Answer(), spec, policy).disclaimer
        rendered = f"{message}\n\n{disclaimer}".strip()
        return self._record(
            state,
            spec,
            status=status,
            final_answer=rendered,
            result=dict(message=message, disclaimer=disclaimer, rendered=rendered),
            flagged=False,
        )

    def _finish_error(
        self, state: _TurnState, spec: DomainSpec | None, message: str, exc: Exception | None = None
    ) -> AskResult:
        if exc is not None:
            state.verdicts.append(
                Verdict(
                    action="allow", rule="pipeline.error", message=f"{type(exc).__name__}: {str(exc)[:500]}"
                )
            )
        policy = self.policies.get(spec.name) if spec else None
        disclaimer = _disclaimer_for(spec, policy) if spec else ""
        return self._record(
            state,
            spec,
            status="error",
            final_answer=message,
            result=dict(message=message, disclaimer=disclaimer, rendered=message),
            flagged=False,
        )

    def _record(
        self,
        state: _TurnState,
        spec: DomainSpec | None,
        *,
        status: TurnStatus,
        final_answer: str,
        result: dict,
        flagged: bool,
    ) -> AskResult:
        if state.notices:
            final_answer = _with_notices(final_answer, state.notices, result.get("disclaimer", ""))
            result = {
                **result,
                "rendered": _with_notices(
                    result.get("rendered", ""), state.notices, result.get("disclaimer", "")
                ),
                "notices": list(state.notices),
            }
        latency = state.elapsed_ms
        turn = Turn(
            domain=state.domain or (spec.name if spec else ""),
            question=state.question,
            status=status,
            retrieved=[
                # origin: official corpus or a curator's upload (uploader recorded for uploads)
                {"id": p.id, "content_hash": p.content_hash, "score": p.score, "origin": p.origin}
                | ({"uploader": p.uploader} if p.origin != "official" else {})
                for p in state.retrieved
            ],
            generator_kind=state.generator_kind,
            generator_model=state.generator_model,
            adapter_name=state.adapter_label or state.adapter or "",
            adapter_version=state.adapter_version or self._adapter_version(state.adapter),
            kb_version=self._kb_version(),
            raw_answer=state.raw,
            final_answer=final_answer,
            verdicts=[
                *state.verdicts,
                *([Verdict(action="allow", rule="flags", details={"flags": state.flags})]),
            ],
            flagged=flagged,
            latency_ms=latency,
            client_id=state.client_id,
            conversation_id=state.conversation_id,
            standalone_question=state.standalone if state.standalone != state.question else "",
        )
        turn_id = self.audit.record(turn)
        return AskResult(
            turn_id=turn_id,
            domain=turn.domain,
            status=status,
            flags=list(state.flags),
            latency_ms=round(latency, 2),
            generator=state.generator_kind,
            adapter=state.adapter_label or state.adapter,
            conversation_id=state.conversation_id,
            standalone_question=state.standalone if state.standalone != state.question else "",
            routing=state.routing,
            **result,
        )

    def _kb_version(self) -> str:
        try:
            return str(self.kb.kb_version)
        except Exception:  # noqa: BLE001 - a store that is down still gets its turn audited
            return ""

    def _adapter_identity(self, gen: Any, adapter: str | None) -> tuple[str, str]:
        """(name, version) from the manifest of the adapter directory the generator really loaded.

        ("", "") when the generator has no directories (served models) or the folder has no manifest; the
        audit then records the generator's adapter name (and the registry fallback below)."""
        locate = getattr(gen, "adapter_path", None)
        path = locate(adapter) if locate is not None and adapter is not None else None
        if path is None:
            return "", ""
        key = Path(path).resolve()
        if key not in self._adapter_ids:
            # Cached per directory: the weights were loaded once, so the manifest read first describes them.
            try:
                from adapters.manifest import MANIFEST_NAME, read_manifest

                if (key / MANIFEST_NAME).is_file():
                    m = read_manifest(key)
                    self._adapter_ids[key] = (m.name, str(m.version))
                else:
                    self._adapter_ids[key] = ("", "")
            except Exception as exc:  # noqa: BLE001 - a broken manifest must not fail the turn
                log.warning("adapter manifest in %s unreadable: %s", key, exc)
                return "", ""
        return self._adapter_ids[key]

    def _adapter_version(self, adapter: str | None) -> str:
        if not adapter or self.home is None:
            return ""
        try:
            from adapters.registry import list_adapters

            for m in list_adapters(self.home):
                if m.name == adapter:
                    return str(m.version)
        except Exception:  # noqa: BLE001 - the registry is optional (extractive / served models)
            return ""
        return ""


# ---------------------------------------------------------------------- helpers
def load_policies(domains: Mapping[str, DomainSpec]) -> dict[str, Any]:
    """Load each domain's safety policy (built-in name or a YAML file in the domain folder)."""
    from safety.policy import load_policy

    out: dict[str, Any] = {}
    for name, spec in domains.items():
        try:
            out[name] = load_policy(spec.safety_policy_ref())
        except Exception as exc:
            where = spec.folder / "domain.yaml" if spec.folder else name
            raise DomainError(f"{where}: safety_policy {spec.safety_policy!r}: {exc}") from exc
    return out


def _disclaimer_for(spec: DomainSpec, policy: Any) -> str:
    """The domain's own disclaimer wins when set; the safety policy's is the fallback."""
    return (spec.disclaimer or "").strip() or str(getattr(policy, "disclaimer", "") or "").strip()


def _with_notices(text: str, notices: Sequence[Notice], disclaimer: str) -> str:
    """`text` with the "first" notices before it and the "last" ones right before its disclaimer."""
    first = [n.message for n in notices if n.position == "first"]
    last = [n.message for n in notices if n.position == "last"]
    body = text.strip()
    if last:
        tail = disclaimer.strip()
        if tail and body.endswith(tail):
            body = "\n\n".join(p for p in (body[: -len(tail)].rstrip(), *last, tail) if p)
        else:
            body = "\n\n".join(p for p in (body, *last) if p)
    return "\n\n".join(p for p in (*first, body) if p)


def _combined_masker(policies: Any) -> Callable[[str], str] | None:
    maskers = [p.mask_pii for p in policies if hasattr(p, "mask_pii") and getattr(p, "mask_stored", True)]
    if not maskers:
        return None

    def mask(text: str) -> str:
        for m in maskers:
            text = m(text)
        return text

    return mask


def _is_knowledge_error(exc: BaseException) -> bool:
    try:
        from knowledge.errors import KnowledgeError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, KnowledgeError)


def _is_store_unavailable(exc: BaseException) -> bool:
    try:
        from knowledge.errors import StoreUnavailable
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, StoreUnavailable)


# How many times k candidates the retrieval step fetches so citable articles can displace uncitable text.
_CITABLE_OVERFETCH = 3


def _serves(p: Passage, wanted: set[str]) -> bool:
    """Whether passage `p` serves one of the knowledge domains in `wanted` (a law can serve several)."""
    return bool(wanted.intersection(getattr(p, "domains", None) or [p.domain]))


def _citable(p: Passage) -> bool:
    """A statute article (第X条) or a guideline passage (cited by its section heading path)."""
    return p.article_no is not None or bool(getattr(p, "is_guideline", False))


def _prefer_citable(passages: Sequence[Passage], limit: int) -> list[Passage]:
    """The first `limit` passages, citable ones first, each group in rank order.

    Citable = a statute article or a guideline passage with its section; both compete on score, so a
    guideline section is never pushed down by a worse-scored numbered article. Passages with neither
    (prefaces, loose text) cannot be cited, so they only fill places left over; they never displace one.
    """
    citable = [p for p in passages if _citable(p)]
    other = [p for p in passages if not _citable(p)]
    return [*citable, *other][:limit]
