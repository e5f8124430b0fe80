"""Policy configuration models: what a safety policy file (YAML) may say, validated by pydantic.

Only data and its validation live here; what each rule does with it lives in safety/rules.py, and loading,
merging includes and combining verdicts in safety/policy.py. Which rule kinds exist is checked by the policy
at load (safety/policy.py), so this module imports nothing else of the safety package but the PII defaults.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safety.pii import DEFAULT_NAME_MARKERS, DEFAULT_PUBLIC_NUMBERS


def _check_regexes(values: list[str]) -> list[str]:
    for i, v in enumerate(values):
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"item {i}: invalid regex {v!r}: {e}") from e
    return values


class ComposeRule(BaseModel):
    """Intent × target composition: refuse when an intent cue and a dangerous target occur close together.

    Matching `intent` and `target` within `window` characters of each other (either order) is what makes a
    request harmful ("怎么…做…炸药", "炸药…原料", "毒死…需要多少"); either alone is a topic, and topics are
    answered. `context`, when given, must also match somewhere in the question (a third ingredient such as
    "another person" for privacy intrusion). `unless` excuses the match outright (whole question), while
    the policy-wide informational guard excuses it only when no `informational.override` cue is present.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", description="Label reported in the verdict details")
    intent: list[str] = Field(min_length=1, description="How-to / acquisition / harm-intent cues")
    target: list[str] = Field(min_length=1, description="Dangerous objects, acts or people")
    context: list[str] = Field(default_factory=list, description="Must also match anywhere, if given")
    window: int = Field(default=12, ge=0, le=200, description="Max characters between intent and target")
    unless: list[str] = Field(default_factory=list, description="Benign context anywhere: never refuse")
    guarded: bool = Field(default=True, description="Whether the informational guard can excuse it")

    _v = field_validator("intent", "target", "context", "unless")(_check_regexes)


class InformationalGuard(BaseModel):
    """Legal/medical informational phrasing (罪/判几年/法律责任/症状/急救/副作用…) that excuses composed matches.

    Questions ABOUT a crime or a poison are in scope and answered; `override` cues (evasion such as 不被发现,
    making someone ill, role-play/fiction wrappers) mean the informational phrasing is a disguise, so the
    guard no longer applies.
    """

    model_config = ConfigDict(extra="forbid")

    patterns: list[str] = Field(default_factory=list)
    override: list[str] = Field(default_factory=list)
    classifier_patterns: list[str] | None = Field(
        default=None,
        description="The narrower phrasing that also keeps the classifier from refusing (questions that "
        "plainly ask about penalties, legality, victims' remedies, symptoms…); None: `patterns`",
    )
    classifier_question: list[str] = Field(
        default_factory=list,
        description="When set, the classifier guard excuses only QUESTIONS: the text must also match one of "
        "these (question marks, 吗/怎么/如何/是否…). A statement such as 「那里都是黑人，简直是犯罪的温床」 is "
        "not a question about the law, whatever words it uses",
    )

    _v = field_validator("patterns", "override", "classifier_patterns", "classifier_question")(_check_regexes)


class LegalBasis(BaseModel):
    """The article that forbids what a refused request asks for, cited with the refusal.

    The pipeline searches the knowledge base for `query` within `law` and cites the first retrieved article
    whose text matches `must`, verified like any citation; when the knowledge base holds no such article the
    refusal goes out without one. Entries are tried in order; `cue`, when set, must match the question
    (e.g. 种植 picks the article on growing drug plants before the one on making and selling drugs).
    No article number is written here: the knowledge base decides which article it is.
    """

    model_config = ConfigDict(extra="forbid")

    cue: str = Field(default="", description="Regex on the normalised question; empty: any question")
    law: str = Field(min_length=1, description="Short law name the article must belong to, e.g. 刑法")
    query: str = Field(min_length=1, description="What to search for (the statute's own wording)")
    must: str = Field(min_length=1, description="Regex the article text must match")

    @field_validator("cue", "must")
    @classmethod
    def _regex(cls, v: str) -> str:
        _check_regexes([v] if v else [])
        return v


class RefusalCategory(BaseModel):
    """A kind of request the assistant refuses, with its refusal text and training examples."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Rule id, used as refuse.<name>")
    description: str = ""
    message: str = Field(min_length=1, description="Refusal text shown to the user")
    patterns: list[str] = Field(
        default_factory=list, description="Regexes; a match refuses unless `unless` matches nearby"
    )
    hard_patterns: list[str] = Field(
        default_factory=list, description="Regexes that refuse regardless of `unless`"
    )
    unless: list[str] = Field(
        default_factory=list, description="Benign-context regexes checked around a `patterns` match"
    )
    unless_window: int = Field(default=12, ge=0, le=200)
    compose: list[ComposeRule] = Field(
        default_factory=list, description="Intent × target rules (see ComposeRule)"
    )
    examples: list[str] = Field(default_factory=list, description="Harmful prompts (refusal training data)")
    legal_basis: list[LegalBasis] = Field(
        default_factory=list, description="Articles that forbid the request, cited with the refusal"
    )
    priority: int = Field(default=100, description="Lower runs first; decides which message wins")
    enabled: bool = True

    _v = field_validator("patterns", "hard_patterns", "unless")(_check_regexes)


class InterceptGroup(BaseModel):
    """Output keywords that hold an answer for human review."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    patterns: list[str] = Field(default_factory=list, description="Any of these matching triggers the group")
    require_all: list[str] = Field(default_factory=list, description="All of these must match as well")
    unless: list[str] = Field(default_factory=list)
    unless_window: int = Field(default=8, ge=0, le=200)
    action: Literal["flag", "amend"] = "flag"
    message: str = ""
    enabled: bool = True

    _v = field_validator("patterns", "require_all", "unless")(_check_regexes)


class NoticeRule(BaseModel):
    """A message shown with the answer when the question matches: red-flag symptoms → call 120 first,
    suicidal words → crisis hotlines first, individual dosing/diagnosis → consult a doctor last.

    A notice never refuses or holds anything: the answer still follows. It triggers when any of `patterns`
    matches (excused by `unless` within `unless_window` characters) or any `compose` rule matches
    (intent × target within its window, the rule's own `unless` anywhere; the informational guard does not
    apply — an emergency phrased as a question is still an emergency).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    message: str = Field(min_length=1, description="Text shown to the user")
    position: Literal["first", "last"] = Field(
        default="first", description="first: before everything else; last: right before the disclaimer"
    )
    patterns: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    unless_window: int = Field(default=12, ge=0, le=200)
    compose: list[ComposeRule] = Field(default_factory=list)
    covers: list[str] = Field(
        default_factory=list,
        description="Refusal categories whose own message already says this (the notice is not repeated)",
    )
    enabled: bool = True

    _v = field_validator("patterns", "unless")(_check_regexes)


class PiiConfig(BaseModel):
    """What PII is masked, and whether stored review copies / exports are masked."""

    model_config = ConfigDict(extra="forbid")

    mask_stored: bool = Field(
        default=True, description="Mask PII in audit records, review copies and exports"
    )
    id_cards: bool = Field(default=True, description="18- and 15-digit resident ID numbers")
    phones: bool = Field(default=True, description="Mobile numbers (138****5678) and landlines")
    bank_cards: bool = Field(default=True, description="16–19 digit card numbers passing the Luhn check")
    emails: bool = True
    addresses: bool = Field(
        default=True, description="Street-level addresses (road + number, building/unit/room)"
    )
    names: bool = Field(default=True, description="Names after a marker word (患者/当事人…)")
    self_intro: bool = Field(default=True, description="Names in self-introductions (我叫…, 本人…, 姓名：…)")
    name_markers: list[str] = Field(default_factory=lambda: list(DEFAULT_NAME_MARKERS))
    keep_numbers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PUBLIC_NUMBERS),
        description="Public service numbers that are never masked (hotlines)",
    )


class InjectionConfig(BaseModel):
    """Prompt-injection phrases: recorded as a signal and stripped from what retrieval/generation see."""

    model_config = ConfigDict(extra="forbid")

    patterns: list[str] = Field(default_factory=list)
    hold_for_review: bool = True

    _v = field_validator("patterns")(_check_regexes)


class ClassifierConfig(BaseModel):
    """Second-layer refusal classifier (safety/classifier.py): char + word n-gram TF-IDF + LR.

    With `artifact` set, the shipped model of that name (safety/models/<name>.npz, or a path) is loaded: it
    was trained by `python -m safety.train_classifier` on the public harmful/benign data plus every built-in
    policy's examples, and its manifest holds per-domain thresholds calibrated by grouped cross-validation.
    Without it (or when the file is missing) a model is trained at policy load from every category's
    `examples` plus `harmful` extras against `benign` look-alikes. It runs only when the pattern layer
    allowed a question, refuses only when P(harmful) reaches the threshold, and never overrides the
    informational guard unless an override (harm) cue is present.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    artifact: str | None = Field(
        default=None, description="Shipped model name in safety/models (or a path); None: train at load"
    )
    threshold: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="Minimum P(harmful) to refuse; None: the artifact's calibrated threshold for this "
        "policy's domain, else 0.85",
    )
    min_category_p: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Minimum probability of the argmax category itself"
    )
    ngram_max: int = Field(default=3, ge=1, le=5, description="Character n-grams 1..ngram_max")
    word_ngram_max: int = Field(
        default=2, ge=0, le=3, description="jieba word n-grams 1..word_ngram_max (0: char n-grams only)"
    )
    c: float = Field(default=10.0, gt=0.0, description="Inverse L2 regularisation strength")
    exclude: list[str] = Field(default_factory=list, description="Categories the classifier never refuses")
    harmful: dict[str, list[str]] = Field(
        default_factory=dict, description="Extra harmful training prompts per category (beside `examples`)"
    )
    benign: list[str] = Field(default_factory=list, description="Benign look-alike training questions")


class DecodeConfig(BaseModel):
    """What the refusal checks decode before looking again (safety/variants.py): base64 / %-escapes,
    pinyin, and homophone or letter-split spellings of `terms` (炸d单, 渣弹, zha弹 → 炸弹). A decoded variant
    can only make a question refused, never allowed."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    terms: list[str] = Field(
        default_factory=list,
        description="Dangerous words (2+ characters) whose homophone / pinyin spellings are written back",
    )

    @field_validator("terms")
    @classmethod
    def _words(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if len(t) < 2 or not all("\u4e00" <= ch <= "\u9fff" for ch in t)]
        if bad:
            raise ValueError(f"terms must be Chinese words of 2+ characters: {bad}")
        return v


class PolicyConfig(BaseModel):
    """One policy file after includes are merged."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    description: str = ""
    disclaimer: str = ""
    review_message: str = "该回答涉及需要人工复核的内容，已提交审核，审核通过后再向您展示。"
    rules: list[str] = Field(
        default_factory=lambda: [
            "refusal",
            "classifier",
            "injection",
            "intercept",
            "pii_output",
            "citations",
            "disclaimer",
        ]
    )
    refusal_categories: list[RefusalCategory] = Field(default_factory=list)
    intercepts: list[InterceptGroup] = Field(default_factory=list)
    notices: list[NoticeRule] = Field(default_factory=list)
    legal_basis_intro: str = Field(
        default="您所询问的做法为法律所禁止，依法须承担法律责任。相关法律条文如下：",
        description="Shown between a refusal message and the article that forbids the request",
    )
    pii: PiiConfig = Field(default_factory=PiiConfig)
    injection: InjectionConfig = Field(default_factory=InjectionConfig)
    informational: InformationalGuard = Field(default_factory=InformationalGuard)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    decode: DecodeConfig = Field(default_factory=DecodeConfig)
    rule_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Rule id → the Chinese name reviewers see (e.g. flag.prompt_injection: 疑似提示词注入)",
    )

    @model_validator(mode="after")
    def _classifier_categories_known(self) -> PolicyConfig:
        known = {c.name for c in self.refusal_categories}
        unknown = sorted((set(self.classifier.harmful) | set(self.classifier.exclude)) - known)
        if unknown:
            raise ValueError(f"classifier: unknown refusal categor(ies) {unknown}; known: {sorted(known)}")
        return self


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
    "RefusalCategory",
]
