"""Safety rules: small objects behind one narrow protocol, registered by kind in one dict.

A policy file lists which rule kinds it enables (`rules:`); each kind's factory turns the validated policy
config into rule objects. Built-ins go through the same registry an extension would
(`register_rule_kind("my_rule", factory)`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from knowledge.types import Passage
from safety.classifier import RefusalClassifier, train_classifier
from safety.config import (
    ClassifierConfig,
    ComposeRule,
    InformationalGuard,
    InterceptGroup,
    PolicyConfig,
    RefusalCategory,
)
from safety.normalize import normalize_forms
from safety.pii import contains_pii
from safety.types import Answer, Question, Verdict

ALLOW = Verdict(action="allow")
DEFAULT_THRESHOLD = 0.85  # classifier threshold when neither the policy nor an artifact sets one
MODELS_DIR = Path(__file__).resolve().parent / "models"
log = logging.getLogger(__name__)


@runtime_checkable
class SafetyRule(Protocol):
    """One rule: looks at the question (before retrieval) and at the answer (before it is shown)."""

    name: str

    def check_input(self, q: Question) -> Verdict: ...

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict: ...


@dataclass
class CompiledPatterns:
    """Regexes with an optional `unless` list checked in a window around each match.

    The window check (rather than the whole text) keeps "如何防范诈骗" allowed without letting an
    unrelated benign word elsewhere in the question excuse a harmful request.
    """

    patterns: list[re.Pattern[str]]
    unless: list[re.Pattern[str]] = field(default_factory=list)
    window: int = 12

    def first_match(self, text: str) -> str | None:
        """The first matched snippet in either normalised form of `text` not excused by `unless`."""
        for form in normalize_forms(text):
            for pat in self.patterns:
                for m in pat.finditer(form):
                    lo, hi = max(0, m.start() - self.window), min(len(form), m.end() + self.window)
                    ctx = form[lo:hi]
                    if any(u.search(ctx) for u in self.unless):
                        continue
                    return m.group(0)
        return None


def compile_patterns(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    """Compile regexes case-insensitively (validated earlier by the policy loader)."""
    return [re.compile(p, re.IGNORECASE) for p in patterns]


def _any_match(patterns: Sequence[re.Pattern[str]], text: str) -> str | None:
    """The first snippet any of `patterns` matches in either normalised form of `text`."""
    for form in normalize_forms(text):
        for pat in patterns:
            m = pat.search(form)
            if m is not None:
                return m.group(0)
    return None


@dataclass
class Guard:
    """Informational phrasing that excuses composed matches, unless an override cue shows intent."""

    patterns: list[re.Pattern[str]] = field(default_factory=list)
    override: list[re.Pattern[str]] = field(default_factory=list)
    requires: list[re.Pattern[str]] = field(default_factory=list)  # e.g. question form, for the classifier

    def excuses(self, text: str) -> bool:
        """True when `text` reads as a question about the law/medicine and carries no override cue."""
        if not self.patterns or _any_match(self.patterns, text) is None:
            return False
        if self.requires and _any_match(self.requires, text) is None:
            return False
        return _any_match(self.override, text) is None


@dataclass
class ComposedPatterns:
    """Intent × target: both must match within `window` characters of each other (either order).

    Composition generalises where whole-phrase patterns do not: any how-to/acquisition cue next to any
    dangerous object is caught, however the rest of the sentence is worded, while either alone (a topic
    mention, a benign how-to) is not.
    """

    intent: list[re.Pattern[str]]
    target: list[re.Pattern[str]]
    context: list[re.Pattern[str]] = field(default_factory=list)
    unless: list[re.Pattern[str]] = field(default_factory=list)
    window: int = 12
    guarded: bool = True
    name: str = ""

    def first_match(self, text: str, guard: Guard | None = None) -> str | None:
        """The matched "intent…target" snippet, or None when absent or excused."""
        hit = self._pair(text)
        if hit is None:
            return None
        if self.context and _any_match(self.context, text) is None:
            return None
        if self.unless and _any_match(self.unless, text) is not None:
            return None
        if self.guarded and guard is not None and guard.excuses(text):
            return None
        return hit

    def _pair(self, text: str) -> str | None:
        for form in normalize_forms(text):
            targets = [m for p in self.target for m in p.finditer(form)]
            if not targets:
                continue
            for p in self.intent:
                for i in p.finditer(form):
                    for t in targets:
                        gap = max(t.start() - i.end(), i.start() - t.end(), 0)
                        if gap <= self.window:
                            lo, hi = min(i.start(), t.start()), max(i.end(), t.end())
                            return form[lo:hi]
        return None


def compile_compose(rule: ComposeRule) -> ComposedPatterns:
    """Compile one YAML compose rule."""
    return ComposedPatterns(
        intent=compile_patterns(rule.intent),
        target=compile_patterns(rule.target),
        context=compile_patterns(rule.context),
        unless=compile_patterns(rule.unless),
        window=rule.window,
        guarded=rule.guarded,
        name=rule.name,
    )


def compile_guard(cfg: InformationalGuard | None, *, for_classifier: bool = False) -> Guard | None:
    """Compile the policy-wide informational guard (None when the policy has none).

    `for_classifier`: the narrower `classifier_patterns` (when set) instead of `patterns`: the classifier
    was trained on informational questions and needs only the plainest of them excused."""
    if cfg is None:
        return None
    patterns = (
        cfg.classifier_patterns if for_classifier and cfg.classifier_patterns is not None else cfg.patterns
    )
    if not patterns:
        return None
    requires = compile_patterns(cfg.classifier_question) if for_classifier else []
    return Guard(compile_patterns(patterns), compile_patterns(cfg.override), requires)


class RefusalRule:
    """Refuses questions matching a refusal category (`refuse.<category>`)."""

    def __init__(self, cat: RefusalCategory, guard: Guard | None = None) -> None:
        self.cat = cat
        self.name = f"refuse.{cat.name}"
        self.soft = CompiledPatterns(
            compile_patterns(cat.patterns), compile_patterns(cat.unless), cat.unless_window
        )
        self.hard = CompiledPatterns(compile_patterns(cat.hard_patterns))
        self.compose = [compile_compose(c) for c in cat.compose]
        self.guard = guard

    def check_input(self, q: Question) -> Verdict:
        hit = self.hard.first_match(q.text) or self.soft.first_match(q.text)
        how = "pattern"
        if hit is None:
            for c in self.compose:
                hit = c.first_match(q.text, self.guard)
                if hit is not None:
                    how = f"compose:{c.name}" if c.name else "compose"
                    break
        if hit is None:
            return ALLOW
        return Verdict(
            action="refuse",
            rule=self.name,
            category=self.cat.name,
            message=self.cat.message.strip(),
            details={"match": hit, "via": how},
        )

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        return ALLOW


class ClassifierRule:
    """Second layer: refuses what the trained classifier (safety/classifier.py) is confident is harmful.

    Runs only when the pattern layer allowed the question (`second_layer`, see SafetyPolicy.input_verdicts).
    It never overrides the informational guard: a question that reads as one ABOUT the law/medicine
    (罪/判几年/症状/急救…) is left alone unless it also carries an override (harm/evasion) cue, in which
    case the guard does not excuse it. The verdict names the classifier's argmax harmful category.
    """

    second_layer = True
    name = "refuse.classifier"

    def __init__(
        self,
        model: RefusalClassifier,
        cfg: ClassifierConfig,
        cats: Sequence[RefusalCategory],
        guard: Guard | None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.min_category_p = cfg.min_category_p
        self.exclude = set(cfg.exclude)
        self.cats = {c.name: c for c in cats}
        self.guard = guard

    def check_input(self, q: Question) -> Verdict:
        if self.guard is not None and self.guard.excuses(q.text):
            return ALLOW
        allowed = [c for c in self.cats if c not in self.exclude]
        pred = self.model.predict(q.text, among=allowed, exclude=self.exclude)
        cat = self.cats.get(pred.category)
        if cat is None or pred.p_harm < self.threshold or pred.p_category < self.min_category_p:
            return ALLOW
        return Verdict(
            action="refuse",
            rule=f"refuse.{cat.name}",
            category=cat.name,
            message=cat.message.strip(),
            details={
                "via": "classifier",
                "p_harm": round(pred.p_harm, 4),
                "p_category": round(pred.p_category, 4),
            },
        )

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        return ALLOW


def answer_text(a: Answer) -> str:
    """What the generator asserted: category, key points and — when nothing was parsed — the raw text."""
    parts = [a.category, *a.points]
    if not a.points:
        parts.append(a.raw)
    return "\n".join(p for p in parts if p)


class InterceptRule:
    """Holds an answer for human review when it contains a keyword group (`intercept.<group>`)."""

    def __init__(self, group: InterceptGroup, review_message: str) -> None:
        self.group = group
        self.name = f"intercept.{group.name}"
        self.any = CompiledPatterns(
            compile_patterns(group.patterns), compile_patterns(group.unless), group.unless_window
        )
        self.all = [CompiledPatterns([p]) for p in compile_patterns(group.require_all)]
        self.review_message = review_message

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        text = answer_text(a)
        hit = self.any.first_match(text) if self.group.patterns else ""
        if hit is None or any(c.first_match(text) is None for c in self.all):
            return ALLOW
        return Verdict(
            action=self.group.action,
            rule=self.name,
            category=self.group.name,
            message=(self.group.message or self.review_message).strip(),
            details={"match": hit or ""},
        )


class InjectionRule:
    """Prompt injection is a signal, never configuration.

    In a question it is recorded (`flag.prompt_injection`) and the answer is held for review; inside a
    retrieved passage it holds the answer too. Nothing here can switch another rule off: every rule runs on
    every turn regardless of what the text says.
    """

    name = "intercept.prompt_injection"

    def __init__(self, patterns: Sequence[str], review_message: str, hold: bool = True) -> None:
        self.matcher = CompiledPatterns(compile_patterns(patterns))
        self.review_message = review_message
        self.hold = hold

    def detect(self, text: str) -> str | None:
        """The injection phrase found in `text`, if any."""
        return self.matcher.first_match(text)

    def check_input(self, q: Question) -> Verdict:
        hit = self.detect(q.text)
        if hit is None:
            return ALLOW
        return Verdict(
            action="flag", rule="flag.prompt_injection", category="prompt_injection", details={"match": hit}
        )

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        if not self.hold:
            return ALLOW
        hit = self.detect(q.text)
        where = "question"
        if hit is None:
            for p in passages:
                hit = self.detect(p.text)
                if hit is not None:
                    where = f"passage:{p.id}"
                    break
        if hit is None:
            hit = self.detect(answer_text(a))
            where = "answer"
        if hit is None:
            return ALLOW
        return Verdict(
            action="flag",
            rule=self.name,
            category="prompt_injection",
            message=self.review_message,
            details={"match": hit, "where": where},
        )


class DisclaimerRule:
    """Asks for the domain disclaimer (`amend.disclaimer`) when the answer lacks it verbatim."""

    name = "amend.disclaimer"

    def __init__(self, disclaimer: str) -> None:
        self.disclaimer = disclaimer

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(
        self, q: Question, a: Answer, passages: Sequence[Passage], expected: str | None = None
    ) -> Verdict:
        """`expected`: the disclaimer the caller attaches for this answer (a domain's own), which then
        replaces the policy's; either way an answer without it verbatim is amended, never let through."""
        want = (expected or "").strip() or self.disclaimer.strip()
        if want and a.disclaimer.strip() != want:
            return Verdict(
                action="amend", rule=self.name, category="disclaimer", details={"disclaimer": want}
            )
        return ALLOW


class PiiOutputRule:
    """Holds answers that would show an ID-card or mobile number (`intercept.pii_in_answer`)."""

    name = "intercept.pii_in_answer"

    def __init__(self, review_message: str) -> None:
        self.review_message = review_message

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        if contains_pii(answer_text(a)):
            return Verdict(action="flag", rule=self.name, category="pii", message=self.review_message)
        return ALLOW


class CitationRule:
    """Defence in depth: a citation whose text is not verbatim from a retrieved passage holds the answer."""

    name = "intercept.unverified_citation"

    def __init__(self, review_message: str) -> None:
        self.review_message = review_message

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        by_id = {p.id: p for p in passages}
        bad = [
            c.law + (c.article_label or "")
            for c in a.citations
            if c.passage_id not in by_id or by_id[c.passage_id].text != c.text
        ]
        if not bad:
            return ALLOW
        return Verdict(
            action="flag",
            rule=self.name,
            category="citation",
            message=self.review_message,
            details={"citations": bad},
        )


RuleFactory = Callable[[PolicyConfig], list[SafetyRule]]


def _refusal(cfg: PolicyConfig) -> list[SafetyRule]:
    cats = sorted((c for c in cfg.refusal_categories if c.enabled), key=lambda c: c.priority)
    guard = compile_guard(cfg.informational)
    return [RefusalRule(c, guard) for c in cats]


def _artifact_path(name: str) -> Path:
    p = Path(name)
    return p if p.suffix == ".npz" or p.parent != Path(".") else MODELS_DIR / f"{name}.npz"


@lru_cache(maxsize=8)
def load_artifact(name: str) -> RefusalClassifier | None:
    """The shipped classifier `name` (safety/models/<name>.npz or a path), None when the file is absent."""
    path = _artifact_path(name)
    if not path.is_file():
        log.warning("classifier artifact %s not found; training from the policy's examples", path)
        return None
    return RefusalClassifier.load(path.with_suffix(""))


def _classifier(cfg: PolicyConfig) -> list[SafetyRule]:
    ccfg = cfg.classifier
    cats = [c for c in cfg.refusal_categories if c.enabled]
    if not ccfg.enabled or not cats:
        return []
    model = load_artifact(ccfg.artifact) if ccfg.artifact else None
    if model is None:
        harmful = {c.name: [*c.examples, *ccfg.harmful.get(c.name, [])] for c in cats}
        model = train_classifier(
            harmful, ccfg.benign, ngram_max=ccfg.ngram_max, c=ccfg.c, word_ngram_max=ccfg.word_ngram_max
        )
    if model is None:  # no benign list or no harmful prompts: nothing to learn from
        return []
    threshold = ccfg.threshold or model.threshold_for(cfg.name) or DEFAULT_THRESHOLD
    guard = compile_guard(cfg.informational, for_classifier=True)
    return [ClassifierRule(model, ccfg, cats, guard, threshold=threshold)]


def _intercept(cfg: PolicyConfig) -> list[SafetyRule]:
    return [InterceptRule(g, cfg.review_message) for g in cfg.intercepts if g.enabled]


def _injection(cfg: PolicyConfig) -> list[SafetyRule]:
    return [InjectionRule(cfg.injection.patterns, cfg.review_message, cfg.injection.hold_for_review)]


def _disclaimer(cfg: PolicyConfig) -> list[SafetyRule]:
    return [DisclaimerRule(cfg.disclaimer)]


def _pii_output(cfg: PolicyConfig) -> list[SafetyRule]:
    return [PiiOutputRule(cfg.review_message)]


def _citations(cfg: PolicyConfig) -> list[SafetyRule]:
    return [CitationRule(cfg.review_message)]


RULE_KINDS: dict[str, RuleFactory] = {
    "refusal": _refusal,
    "classifier": _classifier,
    "injection": _injection,
    "intercept": _intercept,
    "pii_output": _pii_output,
    "citations": _citations,
    "disclaimer": _disclaimer,
}


def register_rule_kind(kind: str, factory: RuleFactory) -> None:
    """Make a new rule kind available to policy files (`rules: [..., kind]`)."""
    RULE_KINDS[kind] = factory
