"""The generate → verify step (grounding's): prompt, generate (one repair), extractive fallback, category,
citation verification and policy amendments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.domains import DomainSpec
from assistant.generators import Generator, GenParams
from assistant.generators.extractive import ExtractiveGenerator
from assistant.grounding import AnswerFormatError, ground, normalise_category, parse, render
from assistant.pipeline.base import PipelineBase, is_store_unavailable, log
from assistant.pipeline.state import TurnState
from assistant.prompt import build_messages, build_repair_messages
from knowledge.types import Passage
from safety.types import Answer, Verdict


class GenerateVerifyStep(PipelineBase):
    """From the basis passages to a verified `Answer` (or None when nothing usable came back)."""

    _extractive: ExtractiveGenerator

    def _generate_answer(self, state: TurnState, spec: DomainSpec, basis: list[Passage]) -> Answer | None:
        gen = self.generator
        state.generator_kind = gen.kind
        state.generator_model = str(gen.model_name)
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
            if state.adapter is not None:
                # What really runs (None = base model when no adapter exists for the domain); raises for a
                # corrupt adapter directory, which lands in the fallback below.
                state.adapter = gen.resolve_adapter(state.adapter)
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
            if is_store_unavailable(exc):
                raise
            log.warning("generator %s failed: %s", state.generator_kind, exc)
            state.flag("generator_error")
            state.verdicts.append(Verdict(action="allow", rule="generator.error", message=str(exc)[:500]))
            return self._fallback(state, spec, basis, "generator_error", exc)

    def _fallback(
        self, state: TurnState, spec: DomainSpec, basis: list[Passage], reason: str, exc: Exception
    ) -> Answer | None:
        if not self.fallback_to_extractive or state.generator_kind == "extractive":
            state.flag(reason)
            return None
        state.flag("extractive_fallback")
        answer = self._extractive.answer(state.query, basis, spec, state.weights)
        state.raw = f"{state.raw}\n\n--- fallback after {reason}: {str(exc)[:300]} ---\n{render(answer, with_text=False)}"
        return answer

    @staticmethod
    def _normalise_category(answer: Answer, spec: DomainSpec, state: TurnState) -> Answer:
        category, changed = normalise_category(answer.category, spec)
        if not changed:
            return answer
        state.flag("category_normalised")
        return answer.model_copy(update={"category": category})

    def _verify(self, answer: Answer, basis: list[Passage], state: TurnState) -> Answer:
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

    def _amend(
        self,
        answer: Answer,
        verdict: Verdict,
        basis: list[Passage],
        spec: DomainSpec,
        policy: Any,
        state: TurnState,
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

    def _adapter_identity(self, gen: Generator, adapter: str | None) -> tuple[str, str]:
        """(name, version) from the manifest of the adapter directory the generator really loaded.

        ("", "") when the generator has no directories (served models) or the folder has no manifest; the
        audit then records the generator's adapter name (and the registry fallback below)."""
        path = gen.adapter_path(adapter) if adapter is not None else None
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
