"""Negative samples: harmful prompts from the safety policy paired with the policy's refusal text.

Mixed into training at `refusal_ratio` so the adapter learns to decline what the policy refuses,
in the same words the safety layer uses.
"""

from __future__ import annotations

import random
from pathlib import Path

from adapters.data import Sample
from adapters.errors import AdapterError


def policy_refusal_pairs(policy_name_or_path: str | Path) -> list[tuple[str, str, str]]:
    """(category, harmful prompt, refusal message) for every example of every refusal category."""
    try:
        from safety.policy import load_policy
    except ImportError as exc:  # the safety package is a sibling work stream
        raise AdapterError(
            f"refusal samples need safety.policy.load_policy ({exc}); set refusal_ratio: 0"
        ) from exc
    try:
        policy = load_policy(policy_name_or_path)
    except Exception as exc:
        raise AdapterError(
            f"cannot load safety policy {str(policy_name_or_path)!r} for refusal samples: {exc}"
        ) from exc
    pairs: list[tuple[str, str, str]] = []
    for cat in policy.refusal_categories:
        for example in cat.examples:
            if example and example.strip():
                pairs.append((cat.name, example.strip(), cat.message.strip()))
    return pairs


def build_refusal_samples(
    policy_name_or_path: str | Path,
    n_train: int,
    ratio: float,
    seed: int = 42,
    exclude_keys: set[str] | None = None,
) -> list[Sample]:
    """Up to round(n_train * ratio) refusal samples (at least one when ratio > 0), without duplicates.

    Prompts whose key is in `exclude_keys` (already in the data) are skipped so nothing leaks between
    the user data and the generated samples.
    """
    if ratio <= 0 or n_train <= 0:
        return []
    pairs = policy_refusal_pairs(policy_name_or_path)
    if not pairs:
        raise AdapterError(
            f"safety policy {str(policy_name_or_path)!r} has no refusal examples; set refusal_ratio: 0"
        )
    want = max(1, round(n_train * ratio))
    rng = random.Random(seed)
    rng.shuffle(pairs)
    out: list[Sample] = []
    seen = set(exclude_keys or ())
    for cat, prompt, message in pairs:
        s = Sample(
            prompt=prompt, completion=message, source=f"policy:{policy_name_or_path}:{cat}", kind="refusal"
        )
        if s.key() in seen:
            continue
        seen.add(s.key())
        out.append(s)
        if len(out) >= want:
            break
    return out
