"""`Pipeline`: the wiring, the public API and the flow of one turn (input checks, then the steps).

The steps live beside it: `retrieve.py` (retrieval), `generate.py` (generate → verify), `finish.py`
(refusal, messages, errors, audit record); `state.py` holds `AskResult` and the per-turn state.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.config import YijuConfig, load_config
from assistant.conversation import (
    PriorTurn,
    Resolution,
    history_from_audit,
    history_from_messages,
    resolve,
)
from assistant.domains import DomainSpec, load_domains
from assistant.errors import DomainError
from assistant.generators import Generator, build_generator
from assistant.generators.config import ExtractiveConfig
from assistant.generators.extractive import ExtractiveGenerator
from assistant.grounding import render
from assistant.grounding.basis import judge_basis, no_basis_hint
from assistant.grounding.graph import with_cited
from assistant.grounding.relevance import corpus_weights, topic_words
from assistant.grounding.subject import subject_weights
from assistant.pipeline.base import is_knowledge_error, is_store_unavailable, log
from assistant.pipeline.finish import FinishStep
from assistant.pipeline.generate import GenerateVerifyStep
from assistant.pipeline.policies import combined_masker, disclaimer_for, load_policies
from assistant.pipeline.retrieve import RetrieveStep
from assistant.pipeline.state import AskResult, TurnState, clean_question, has_lone_surrogate
from assistant.routing import route
from safety.types import Answer, Question

_STREAM_PIECE = re.compile(r"[^。；\n]*[。；\n]|[^。；\n]+$")


class Pipeline(RetrieveStep, GenerateVerifyStep, FinishStep):
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
        bare = [d for d, spec in self._domains.items() if not disclaimer_for(spec, self.policies[d])]
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
        from assistant.stores import audit_store, knowledge_base

        home = Path(home)
        config = config or load_config(None, home)
        domains = load_domains([p if p.is_absolute() else home / p for p in config.domains_dirs])
        policies = load_policies(domains)
        kb = knowledge_base(home, config)
        masker = combined_masker(policies.values())
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

    def disclaimer(self, domain: str) -> str:
        """The disclaimer every answer of `domain` carries (domain.yaml's, else its safety policy's); also
        attached to answers a reviewer releases (`assistant.release`)."""
        spec = self.domain_spec(domain)
        return disclaimer_for(spec, self.policies[spec.name])

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
        self.generator.close()

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
        state = TurnState(text or (question if isinstance(question, str) else repr(question)), "", client_id)
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
            if is_store_unavailable(exc):
                state.flag("store_unavailable")
                self._finish_error(state, spec, "知识库暂时无法访问，请稍后再试。", exc)
                raise
            if is_knowledge_error(exc):
                # A configuration/data problem (bad embedder path, corrupt index…): the user gets its
                # plain description; the traceback is for debugging only.
                log.debug("knowledge error", exc_info=True)
                state.flag("knowledge_error")
                return self._finish_error(state, spec, f"知识库错误：{exc}", exc)
            log.exception("pipeline failure")
            state.flag("internal_error")
            return self._finish_error(state, spec, spec.error_message, exc)

    def _answer(self, state: TurnState, spec: DomainSpec) -> AskResult:
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
        if spec.retrieval.follow_citations:
            # The articles a retrieved one relies on (依照本法第四十七条…): grounding's citation graph.
            state.retrieved = with_cited(state.retrieved, self.kb.lookup)
        words = topic_words(state.query)
        state.weights = subject_weights(words, self._term_weights(words), spec, self._term_weights)
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
        out_verdict = policy.check_output(q, answer, basis, disclaimer=disclaimer_for(spec, policy))
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
