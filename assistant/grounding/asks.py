"""What a legal question asks for, ask by ask: 「我想辞职，辞职了还能拿到经济补偿吗」 asks whether the worker may
quit (劳动者可以解除劳动合同) and whether compensation follows (经济补偿) — one key point per ask.

An ask is an everyday action of the domain vocabulary (a synonym key jieba does not tag as a noun: 辞职, 补偿,
交社保; not the parties or things the story names: 房东, 公司, 租房合同) in the asking part of
the question — from the first clause saying what the asker wants or may do (想, 能, 可以, 要…) to the end; the
story before it (老板两个月没发工资) is what happened, not what is asked. A point answers the ask when it says
the key or one of its statute wordings verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.domains import DomainSpec

_INTENT = re.compile(r"想|要|能|可以|可不可以|打算|准备|是否|有没有|该不该")
# 想辞职, 能辞职, 可以辞职: the ask is an act of the asker's own.
_INTENDED = re.compile(r"(?:想|能|可以|打算|准备|要)$")
_CLAUSE = re.compile(r"[，,。？?！!；;]")


@dataclass(frozen=True)
class Ask:
    """One thing the question asks about: the asker's word and the statute's wordings of it."""

    word: str
    wording: tuple[str, ...]
    intended: bool = False  # what the asker wants or may do (我想辞职, 我能辞职吗): the right to it leads

    def said_by(self, text: str) -> bool:
        """The point says the ask's word or one of its statute wordings verbatim."""
        return self.word in text or any(w in text for w in self.wording)


def asking_part(question: str) -> str:
    """The question from its first clause of intent or ability (我想辞职, 还能…吗) to the end; the last
    clause when none says one."""
    clauses = [c for c in _CLAUSE.split(question) if c.strip()]
    for i, clause in enumerate(clauses):
        if _INTENT.search(clause):
            return "，".join(clauses[i:])
    return clauses[-1] if clauses else question


def asks(question: str, spec: DomainSpec) -> list[Ask]:
    """The vocabulary's actions in the asking part (whole words, not nouns), in the order asked."""
    from knowledge.textproc import _is_noun, find_whole_words

    text = asking_part(question)
    synonyms = spec.synonyms_for(question)
    keys = sorted((k for k in find_whole_words(text, list(synonyms)) if not _is_noun(k)), key=text.find)
    # A key inside a longer key that is asked too (补偿 in 经济补偿) is the same ask.
    keys = [k for k in keys if not any(k != o and k in o for o in keys)]
    return [Ask(k, tuple(synonyms[k]), bool(_INTENDED.search(text[: text.find(k)]))) for k in keys]
