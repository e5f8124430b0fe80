"""Text overlap between a question and a passage: the measures basis selection and the composer share.

Relevance is character-bigram overlap (Chinese has no spaces; bigrams are robust, need no tokenizer load
and cost microseconds). Question words, particles and pronouns carry no topic and are left out.
"""

from __future__ import annotations

import re

from knowledge.numerals import int_to_cn
from knowledge.types import Passage

# Characters that carry no topic (question words, particles, pronouns); a bigram made only of them,
# or containing one of the weakest, is ignored when measuring overlap.
_STOP_CHARS = set(
    "的了吗呢吧啊么是在有和与或及我你他她它们这那哪怎什么可以能会要该请问如何为呀嘛吗？?，,。！!、：:；;（）()《》“”\"' "
)
# Question particles never carry topic: a bigram containing one is dropped ("资怎" in "工资怎么办").
_PARTICLES = set("的了吗呢吧啊么怎什哪呀嘛？?，,。！!、：:；;（）()《》“”\"' ")
_STOP_BIGRAMS = {
    "内容",
    "规定",
    "什么",
    "怎么",
    "如何",
    "是否",
    "哪些",
    "可以",
    "应该",
    "需要",
    "情况",
    "问题",
    "一下",
    "请问",
}
_WORD = re.compile(r"[A-Za-z0-9]+")


def content_grams(text: str) -> set[str]:
    """Topic-bearing units of text: CJK character bigrams (stop bigrams removed) and lower-cased ASCII words."""
    grams: set[str] = set()
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        if len(run) == 1 and run not in _STOP_CHARS:
            grams.add(run)
        for i in range(len(run) - 1):
            bg = run[i : i + 2]
            if (
                bg in _STOP_BIGRAMS
                or bg[0] in _PARTICLES
                or bg[1] in _PARTICLES
                or (bg[0] in _STOP_CHARS and bg[1] in _STOP_CHARS)
            ):
                continue
            grams.add(bg)
    grams.update(w.lower() for w in _WORD.findall(text) if len(w) > 1 or w.isdigit())
    return grams


def passage_grams(p: Passage) -> set[str]:
    """Grams of a passage including its citation and titles (so 劳动合同法第四十七条 matches its article)."""
    return content_grams(f"{p.citation} {p.law_full} {p.chapter} {p.text}")


def coverage(question_grams: set[str], grams: set[str]) -> float:
    """Share of the question's grams found in `grams` (0 when the question has none; at most 1).

    Long questions (stories) are capped at 12 grams in the denominator: a passage does not have to
    echo every detail of a story to be the right basis for it."""
    if not question_grams:
        return 0.0
    return min(1.0, len(question_grams & grams) / min(len(question_grams), 12))


def names_article(question: str, p: Passage) -> bool:
    """True when the question names this article exactly (劳动合同法第四十七条 / 《劳动合同法》第47条)."""
    if p.article_no is None:
        return False
    q = re.sub(r"[《》\s]", "", question)
    labels = {p.article_label, f"第{p.article_no}条", f"第{int_to_cn(p.article_no)}条"} - {""}
    return any(f"{name}{label}" in q for name in {p.law, p.law_full} - {""} for label in labels)
