"""How a turn ends: input refusal (safety's step), a plain message, an error, and the audit record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.domains import DomainSpec
from assistant.pipeline.base import PipelineBase
from assistant.pipeline.policies import disclaimer_for
from assistant.pipeline.state import AskResult, TurnState
from assistant.refusal import find_forbidding_article, render_refusal
from safety.types import Answer, Notice, Turn, TurnStatus, Verdict


class FinishStep(PipelineBase):
    """Refusal, message, error and the one `_record` that audits every turn and builds the `AskResult`."""

    # ------------------------------------------------------------------ input refusal (safety's step)
    def _refuse(self, state: TurnState, spec: DomainSpec, policy: Any, verdict: Verdict) -> AskResult:
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
        self, state: TurnState, spec: DomainSpec, policy: Any, status: TurnStatus, message: str
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
        self, state: TurnState, spec: DomainSpec | None, message: str, exc: Exception | None = None
    ) -> AskResult:
        if exc is not None:
            state.verdicts.append(
                Verdict(
                    action="allow", rule="pipeline.error", message=f"{type(exc).__name__}: {str(exc)[:500]}"
                )
            )
        policy = self.policies.get(spec.name) if spec else None
        disclaimer = disclaimer_for(spec, policy) if spec else ""
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
        state: TurnState,
        spec: DomainSpec | None,
        *,
        status: TurnStatus,
        final_answer: str,
        result: dict,
        flagged: bool,
    ) -> AskResult:
        if state.notices:
            final_answer = with_notices(final_answer, state.notices, result.get("disclaimer", ""))
            result = {
                **result,
                "rendered": with_notices(
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


def with_notices(text: str, notices: Sequence[Notice], disclaimer: str) -> str:
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
