"""Per-domain safety policies loaded from YAML.

`load_policy("legal")` reads safety/policies/legal.yaml, which `include:`s common.yaml; a path works too,
so a new domain folder can ship its own safety.yaml. Named lists (refusal_categories, intercepts) merge by
`name` (the including file wins), other lists concatenate, scalars override.

Combining rules: refuse beats flag beats amend beats allow. On input the combined verdict is "refuse" or
"allow" (signals such as prompt injection ride along in `details["signals"]` and hold the answer at output).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from knowledge.errors import YijuError
from knowledge.types import Passage
from knowledge.yamlfile import YamlFileError, line_of, load_yaml_mapping, read_yaml_text
from safety.config import (
    ClassifierConfig,
    ComposeRule,
    DecodeConfig,
    InformationalGuard,
    InjectionConfig,
    InterceptGroup,
    LegalBasis,
    NoticeRule,
    PiiConfig,
    PolicyConfig,
    RefusalCategory,
)
from safety.normalize import normalize_forms
from safety.notices import build_matchers, notices_for
from safety.pii import mask_pii as _mask_pii
from safety.rules import RULE_KINDS, DisclaimerRule, InjectionRule, SafetyRule
from safety.types import Answer, Notice, Question, Verdict
from safety.variants import variants

POLICY_DIR = Path(__file__).resolve().parent / "policies"
_RANK = {"allow": 0, "amend": 1, "flag": 2, "refuse": 3}


class PolicyError(YijuError, ValueError):
    """A policy file is missing or invalid (the message names the file, line and field)."""


def check_rule_kinds(config: PolicyConfig, source: Path | None = None) -> None:
    """Raise PolicyError when `rules:` names a kind nobody registered (see safety.rules.register_rule_kind).

    Checked here, when a policy is built, rather than in the config model: the registry belongs to the
    rules, and the config models know nothing about behaviour."""
    unknown = [r for r in config.rules if r not in RULE_KINDS]
    if not unknown:
        return
    where = ""
    if source is not None:
        try:
            line = line_of(read_yaml_text(source), ("rules",))
        except YamlFileError:
            line = None
        where = f"{source}{':' + str(line) if line else ''}: "
    raise PolicyError(
        f"invalid safety policy:\n  {where}rules: unknown rule kind(s) {unknown}; known: {sorted(RULE_KINDS)}"
    )


def _combine(verdicts: Sequence[Verdict]) -> Verdict:
    """The strongest verdict (refuse > flag > amend > allow; first rule wins ties), with all others attached."""
    active = [v for v in verdicts if v.action != "allow"]
    if not active:
        return Verdict(action="allow")
    best = max(active, key=lambda v: _RANK[v.action])  # max keeps the first of equal rank
    details = dict(best.details)
    details["verdicts"] = [v.model_dump() for v in active]
    details["rules"] = [v.rule for v in active]
    return best.model_copy(update={"details": details})


class SafetyPolicy:
    """A domain's safety policy: input refusal, output interception, disclaimer and PII masking."""

    def __init__(self, config: PolicyConfig, source: Path | None = None) -> None:
        check_rule_kinds(config, source)
        self.config = config
        self.source = source
        self.name = config.name
        self.disclaimer = config.disclaimer.strip()
        self.review_message = config.review_message.strip()
        self.refusal_categories = [c for c in config.refusal_categories if c.enabled]
        self.rules: list[SafetyRule] = [rule for kind in config.rules for rule in RULE_KINDS[kind](config)]
        self._injection = InjectionRule(config.injection.patterns, self.review_message)
        self._notices = build_matchers(config.notices)
        self._covers = {r.name: set(r.covers) for r in config.notices}
        self._bases = {
            c.name: [(re.compile(b.cue, re.IGNORECASE) if b.cue else None, b) for b in c.legal_basis]
            for c in self.refusal_categories
        }

    def __repr__(self) -> str:
        return f"SafetyPolicy(name={self.name!r}, rules={len(self.rules)})"

    @property
    def mask_stored(self) -> bool:
        """Whether audit records / review copies / exports must be PII-masked."""
        return self.config.pii.mask_stored

    def input_verdicts(self, q: Question) -> list[Verdict]:
        """Every rule's input verdict (for the audit trail).

        Second-layer rules (`second_layer = True`, the classifier) run only when no earlier rule refused, so
        a pattern refusal keeps its category and message and the model never second-guesses it.
        """
        out: list[Verdict] = []
        refused = False
        for r in self.rules:
            if refused and getattr(r, "second_layer", False):
                continue
            v = r.check_input(q)
            refused = refused or v.action == "refuse"
            out.append(v)
        return out

    def check_input(self, q: Question) -> Verdict:
        """Return "refuse" (with the category's message, rule refuse.<category>) or "allow".

        Non-refusing signals (e.g. flag.prompt_injection) are listed in details["signals"]; they never relax
        any rule, and the output check holds such answers for review. A question the rules allow is looked
        at again in its decoded forms (base64, pinyin, homophones — `decode:`); one refused form refuses it
        (details["decoded"] says which).
        """
        combined = _combine(self.input_verdicts(q))
        if combined.action != "refuse" and self.config.decode.enabled:
            decoded = self._check_decoded(q)
            if decoded is not None:
                return decoded
        if combined.action == "refuse" or combined.action == "allow":
            return combined
        signals = combined.details.get("rules", [])
        return Verdict(
            action="allow", details={"signals": signals, "verdicts": combined.details.get("verdicts", [])}
        )

    def _check_decoded(self, q: Question) -> Verdict | None:
        """The refusal of the first decoded variant of the question that the rules refuse, if any."""
        for how, text in variants(q.text, self.config.decode.terms):
            v = _combine(self.input_verdicts(q.model_copy(update={"text": text})))
            if v.action == "refuse":
                details = {**v.details, "decoded": how, "decoded_text": text[:200]}
                return v.model_copy(update={"details": details})
        return None

    def output_verdicts(
        self, q: Question, answer: Answer, passages: Sequence[Passage], *, disclaimer: str | None = None
    ) -> list[Verdict]:
        """Every rule's output verdict (for the audit trail). `disclaimer`: see `check_output`."""
        return [
            r.check_output(q, answer, passages, expected=disclaimer)
            if disclaimer and isinstance(r, DisclaimerRule)
            else r.check_output(q, answer, passages)
            for r in self.rules
        ]

    def check_output(
        self, q: Question, answer: Answer, passages: Sequence[Passage], *, disclaimer: str | None = None
    ) -> Verdict:
        """Return "flag" (hold for review, rule intercept.<group>) / "amend" (e.g. amend.disclaimer) / "allow".

        `disclaimer`: the disclaimer expected on this answer when the caller's domain sets its own (it then
        replaces the policy's in the disclaimer check); default: the policy's."""
        return _combine(self.output_verdicts(q, answer, passages, disclaimer=disclaimer))

    def apply_disclaimer(self, answer: Answer, disclaimer: str | None = None) -> Answer:
        """The answer with the disclaimer set (whatever the generator wrote there is replaced).

        `disclaimer`: a domain's own text, which wins when non-empty; the policy's is the fallback."""
        text = (disclaimer or "").strip() or self.disclaimer
        return answer.model_copy(update={"disclaimer": text})

    def mask_pii(self, text: str) -> str:
        """Mask PII on the normalised form as configured: ID numbers, mobiles and landlines, bank cards,
        e-mail, street addresses, names after 患者/当事人/… and in self-introductions (see safety.pii)."""
        p = self.config.pii
        return _mask_pii(
            text,
            id_cards=p.id_cards,
            phones=p.phones,
            names=p.names,
            name_markers=p.name_markers,
            bank_cards=p.bank_cards,
            emails=p.emails,
            addresses=p.addresses,
            self_intro=p.self_intro,
            keep_numbers=p.keep_numbers,
        )

    def detect_injection(self, text: str) -> str | None:
        """The prompt-injection phrase in `text`, or None."""
        return self._injection.detect(text)

    def sanitize_question(self, text: str) -> str:
        """The question without sentences that carry prompt-injection phrases (for retrieval/generation).

        Refusal checks always run on the original text; this only keeps injected instructions away from the
        generator. If everything would be removed the original is returned (the output hold still applies).
        """
        parts = re.split(r"(?<=[。！？!?；;\n])|(?<=[，,])", text)
        kept = [s for s in parts if s.strip() and self._injection.detect(s) is None]
        out = "".join(kept).strip(" ，,")
        return out or text

    def notices(self, *texts: str, refused_category: str | None = None) -> list[Notice]:
        """Notices the question triggers (red flag → 120 first, crisis hotlines, consult a doctor…).

        `texts`: the question and, when it differs, the standalone question. `refused_category`: on a
        refusal, notices whose message that category's refusal already carries (`covers`) are left out."""
        found = notices_for(self._notices, texts)
        if refused_category:
            found = [n for n in found if refused_category not in self._covers.get(n.name, set())]
        return found

    def legal_basis(self, category: str, text: str) -> list[LegalBasis]:
        """The `legal_basis` entries of a refusal category that apply to `text`, in order (a cue-less entry
        always applies); the caller cites the first whose article the knowledge base holds."""
        spaced, compact = normalize_forms(text)
        return [
            b
            for cue, b in self._bases.get(category, [])
            if cue is None or cue.search(spaced) or cue.search(compact)
        ]

    @property
    def legal_basis_intro(self) -> str:
        """The sentence between a refusal message and the article that forbids the request."""
        return self.config.legal_basis_intro.strip()

    def rule_ids(self) -> set[str]:
        """Every rule id this policy can put on a turn (what the review queue shows as its reason)."""
        ids = {r.name for r in self.rules} | {"flag.prompt_injection"}
        ids |= {f"refuse.{c.name}" for c in self.refusal_categories}
        ids |= {f"intercept.{g.name}" for g in self.config.intercepts if g.enabled}
        return ids

    def rule_label(self, rule_id: str) -> str:
        """The Chinese name of a rule for reviewers (`rule_labels:` in the policy YAML); the id itself when
        none is configured."""
        return self.config.rule_labels.get(rule_id, rule_id)

    def refusal_examples(self) -> dict[str, list[str]]:
        """category name → harmful example prompts (used by the trainer to build refusal samples)."""
        return {c.name: list(c.examples) for c in self.refusal_categories}

    def refusal_message(self, category: str) -> str:
        """The refusal text for a category (KeyError when unknown)."""
        for c in self.refusal_categories:
            if c.name == category:
                return c.message.strip()
        raise KeyError(category)


# ---------------------------------------------------------------------------------------------- loading


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(over, list):
        if all(isinstance(x, dict) and "name" in x for x in base + over):
            merged = {x["name"]: x for x in base}
            for x in over:
                merged[x["name"]] = x  # whole item replaced: partial merges of regex lists surprise people
            return list(merged.values())
        return base + [x for x in over if x not in base]
    return over


def _read_yaml(path: Path) -> tuple[dict, str]:
    try:
        return load_yaml_mapping(path, "policy file")
    except YamlFileError as e:  # names the file and the line (syntax, duplicate key, unreadable)
        raise PolicyError(str(e)) from e


def _resolve(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    p = Path(name_or_path)
    candidates = []
    if relative_to is not None:
        candidates += [relative_to / p, relative_to / f"{p}.yaml"]
    candidates += [p, POLICY_DIR / f"{p}.yaml", POLICY_DIR / p]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    if p.is_dir() and (p / "safety.yaml").is_file():
        return (p / "safety.yaml").resolve()
    builtin = sorted(x.stem for x in POLICY_DIR.glob("*.yaml"))
    raise PolicyError(f"safety policy {str(name_or_path)!r} not found (built-ins: {builtin}, or give a path)")


def _load_raw(path: Path, stack: tuple[Path, ...] = ()) -> dict:
    if path in stack:
        raise PolicyError(f"{path}: include cycle: {' -> '.join(map(str, (*stack, path)))}")
    data, _ = _read_yaml(path)
    includes = data.pop("include", []) or []
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) and i for i in includes):
        raise PolicyError(f"{path}: include: expected a file name or a list of file names (got {includes!r})")
    merged: dict = {}
    for inc in includes:
        try:
            target = _resolve(inc, path.parent)
        except PolicyError as exc:
            raise PolicyError(f"{path}: include: {exc}") from exc
        included = _load_raw(target, (*stack, path))
        included.pop("name", None)  # a fragment's own name never names the including policy
        merged = _merge(merged, included)
    return _merge(merged, data)


def _validate(path: Path, raw: dict) -> PolicyConfig:
    raw.setdefault("name", path.stem if path.name != "safety.yaml" else path.parent.name)
    try:
        return PolicyConfig.model_validate(raw)
    except ValidationError as e:
        _, text = _read_yaml(path)
        problems = []
        for err in e.errors():
            loc = err["loc"]
            line = line_of(text, loc)
            field = ".".join(str(x) for x in loc)
            value = err.get("input")
            shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
            problems.append(
                f"{path}{':' + str(line) if line else ''}: {field}: {err['msg']} (got {shown[:80]})"
            )
        raise PolicyError("invalid safety policy:\n  " + "\n  ".join(problems)) from e


def load_policy(name_or_path: str | Path) -> SafetyPolicy:
    """Load a built-in policy ("legal", "medical") or a policy file / folder holding safety.yaml.

    Raises PolicyError naming the file, line and field of every problem found.
    """
    path = _resolve(name_or_path)
    return _load_cached(path, path.stat().st_mtime_ns)


def load_policy_config(name_or_path: str | Path) -> PolicyConfig:
    """The validated, include-merged configuration of a policy, without building its rules."""
    path = _resolve(name_or_path)
    return _validate(path, _load_raw(path))


@lru_cache(maxsize=32)
def _load_cached(path: Path, mtime_ns: int) -> SafetyPolicy:
    # Cached per (path, mtime): policies are immutable once built, and the pipeline asks for them per turn.
    return SafetyPolicy(_validate(path, _load_raw(path)), source=path)


def builtin_policies() -> list[str]:
    """Names of the policies shipped in safety/policies (common.yaml is a fragment, not a domain)."""
    return sorted(p.stem for p in POLICY_DIR.glob("*.yaml") if p.stem != "common")


__all__ = [
    "ClassifierConfig",
    "ComposeRule",
    "DecodeConfig",
    "InformationalGuard",
    "InjectionConfig",
    "InterceptGroup",
    "LegalBasis",
    "NoticeRule",
    "PiiConfig",
    "PolicyConfig",
    "PolicyError",
    "RefusalCategory",
    "SafetyPolicy",
    "builtin_policies",
    "check_rule_kinds",
    "load_policy",
    "load_policy_config",
    "normalize_forms",
]
