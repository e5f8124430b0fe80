"""What every step of the pipeline shares: the parts it is wired with and small audit helpers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from assistant.config import YijuConfig
from assistant.domains import DomainSpec
from assistant.errors import DomainError
from assistant.generators import Generator
from assistant.pipeline.policies import disclaimer_for
from safety.types import Answer

log = logging.getLogger("assistant.pipeline")


class PipelineBase:
    """The parts a `Pipeline` is wired with (set in `Pipeline.__init__`), shared by the step mixins."""

    kb: Any
    audit: Any
    home: Path | None
    config: YijuConfig
    generator: Generator
    policies: dict[str, Any]
    default_domain: str
    fallback_to_extractive: bool
    _domains: dict[str, DomainSpec]
    _adapter_ids: dict[Path, tuple[str, str]]

    def domain_spec(self, name: str) -> DomainSpec:
        """The `DomainSpec` of a configured domain (DomainError for an unknown one)."""
        try:
            return self._domains[name]
        except KeyError as exc:
            raise DomainError(f"unknown domain {name!r}; known: {', '.join(self._domains)}") from exc

    @staticmethod
    def _with_disclaimer(answer: Answer, spec: DomainSpec, policy: Any) -> Answer:
        """The domain's disclaimer (domain.yaml) when it sets one, else the safety policy's.

        Always from configuration, never from generated or question text, so an injection cannot remove
        or replace it; `__init__` refuses a domain where both are empty."""
        return answer.model_copy(update={"disclaimer": disclaimer_for(spec, policy)})

    def _kb_version(self) -> str:
        try:
            return str(self.kb.kb_version)
        except Exception:  # noqa: BLE001 - a store that is down still gets its turn audited
            return ""

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


def is_knowledge_error(exc: BaseException) -> bool:
    try:
        from knowledge.errors import KnowledgeError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, KnowledgeError)


def is_store_unavailable(exc: BaseException) -> bool:
    try:
        from knowledge.errors import StoreUnavailable
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, StoreUnavailable)
