"""Each domain's safety policy, disclaimer and the audit's PII masker (the pipeline's configuration)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from assistant.domains import DomainSpec
from assistant.errors import DomainError


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


def disclaimer_for(spec: DomainSpec, policy: Any) -> str:
    """The domain's own disclaimer wins when set; the safety policy's is the fallback."""
    return (spec.disclaimer or "").strip() or str(getattr(policy, "disclaimer", "") or "").strip()


def combined_masker(policies: Any) -> Callable[[str], str] | None:
    maskers = [p.mask_pii for p in policies if hasattr(p, "mask_pii") and getattr(p, "mask_stored", True)]
    if not maskers:
        return None

    def mask(text: str) -> str:
        for m in maskers:
            text = m(text)
        return text

    return mask
