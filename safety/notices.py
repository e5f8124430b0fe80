"""Notices: messages shown WITH an answer because of what the question says (safety's input side).

A red-flag medical question (胸痛、呼吸困难、抽搐、一个月的宝宝高烧不退、误服农药…) gets "立即拨打 120 或
前往最近的急诊" before anything else, suicidal words get the crisis hotlines first, and an individual dosing
or diagnosis question gets "请咨询医生、遵医嘱" right before the disclaimer — whatever was retrieved, and the
answer still follows. Notices never refuse and never hold an answer; the policy YAML (`notices:`) says what
triggers them, matched on the normalised question like every other rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from safety.config import NoticeRule
from safety.rules import CompiledPatterns, ComposedPatterns, compile_compose, compile_patterns
from safety.types import Notice


@dataclass
class NoticeMatcher:
    """One compiled `notices:` rule."""

    rule: NoticeRule
    patterns: CompiledPatterns
    compose: list[ComposedPatterns] = field(default_factory=list)

    @classmethod
    def build(cls, rule: NoticeRule) -> NoticeMatcher:
        """Compile the rule's regexes (validated by the policy loader)."""
        return cls(
            rule=rule,
            patterns=CompiledPatterns(
                compile_patterns(rule.patterns), compile_patterns(rule.unless), rule.unless_window
            ),
            compose=[compile_compose(c) for c in rule.compose],
        )

    def match(self, text: str) -> str | None:
        """The snippet of `text` that triggers this notice, or None."""
        hit = self.patterns.first_match(text) if self.rule.patterns else None
        if hit is not None:
            return hit
        for c in self.compose:
            hit = c.first_match(text)  # no informational guard: an emergency asked as a question is one
            if hit is not None:
                return hit
        return None

    def notice(self) -> Notice:
        """The user-facing notice."""
        return Notice(name=self.rule.name, message=self.rule.message.strip(), position=self.rule.position)


def build_matchers(rules: Sequence[NoticeRule]) -> list[NoticeMatcher]:
    """Compile the enabled rules, in policy order."""
    return [NoticeMatcher.build(r) for r in rules if r.enabled]


def notices_for(matchers: Sequence[NoticeMatcher], texts: Sequence[str]) -> list[Notice]:
    """The notices any of `texts` (the question, and the standalone question when it differs) triggers,
    each once, in policy order."""
    out: list[Notice] = []
    for m in matchers:
        if any(t and m.match(t) is not None for t in texts):
            out.append(m.notice())
    return out


__all__ = ["NoticeMatcher", "build_matchers", "notices_for"]
