"""The corpus's own citation graph: an article that relies on another of its law (依照本法第四十七条…的二倍,
劳动者依照本法第三十八条规定解除劳动合同的) is only half a rule without it.

`internal_refs` reads what an article cites of its own law (article, 款, 项); `with_cited` adds the cited
articles to a retrieval result (looked up in the knowledge base, scored below the article citing them), so
the relevance gate can keep an article a kept one relies on and the composer can put the two rules together
(2N = 第八十七条 with 第四十七条; 第四十六条第（五）项 with 第四十四条第（一）项).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from knowledge.numerals import ARTICLE_NUMERAL, cn_to_int, int_to_cn
from knowledge.types import Passage

_SAME_LAW = r"本(?:法|条例|规定|办法|细则|解释)"
# 本法第四十四条第一项 / 本法第四十一条第一款 / 本法第三十九条和第四十条第一项 / 本法第四十条、第四十一条
_REF = re.compile(
    rf"{_SAME_LAW}((?:第{ARTICLE_NUMERAL}条(?:第{ARTICLE_NUMERAL}款)?(?:第?[（(]?{ARTICLE_NUMERAL}[)）]?项)?[、和及或者与，,]*)+)"
)
_ONE = re.compile(
    rf"第({ARTICLE_NUMERAL})条(?:第({ARTICLE_NUMERAL})款)?(?:第?[（(]?({ARTICLE_NUMERAL})[)）]?项)?"
)
# How far below the article citing it a cited article is scored (it was not retrieved for the question).
CITED_SCORE_FACTOR = 0.5
# At most this many cited articles are added to one retrieval result.
MAX_CITED = 5


@dataclass(frozen=True)
class InternalRef:
    """One article of the same law that a text cites, with the 款/项 named (0 when not named)."""

    article_no: int
    paragraph: int = 0
    item: int = 0

    @property
    def clause(self) -> str:
        """The clause label as statements carry it (第一款第（五）项 / 第（一）项 / 第二款; '' for none)."""
        para = f"第{int_to_cn(self.paragraph)}款" if self.paragraph else ""
        return para + (f"第（{int_to_cn(self.item)}）项" if self.item else "")


def _num(raw: str | None) -> int:
    if not raw:
        return 0
    try:
        return int(raw) if raw.isdigit() else cn_to_int(raw)
    except ValueError:
        return 0


def internal_refs(text: str) -> list[InternalRef]:
    """The articles of its own law `text` cites (本法第X条[第Y款][第Z项]), in order, without repeats."""
    out: list[InternalRef] = []
    for m in _REF.finditer(text):
        for one in _ONE.finditer(m.group(1)):
            ref = InternalRef(_num(one.group(1)), _num(one.group(2)), _num(one.group(3)))
            if ref.article_no and ref not in out:
                out.append(ref)
    return out


def with_cited(
    passages: Sequence[Passage],
    lookup: Callable[[str, int], Passage | None],
    limit: int = MAX_CITED,
) -> list[Passage]:
    """`passages` followed by the articles they cite of their own law that are not among them (at most
    `limit`, in citing order), each scored `CITED_SCORE_FACTOR` × its citing article's score. `lookup(law,
    article_no)` finds an article in the knowledge base (`KnowledgeBase.lookup`); guideline passages and
    articles it cannot find are skipped."""
    have = {(p.law, p.article_no) for p in passages}
    added: list[Passage] = []
    for p in passages:
        if p.article_no is None:
            continue
        for ref in internal_refs(p.text):
            if len(added) >= limit:
                break
            if (p.law, ref.article_no) in have:
                continue
            have.add((p.law, ref.article_no))
            found = lookup(p.law, ref.article_no)
            if found is not None and found.law == p.law:
                added.append(found.model_copy(update={"score": p.score * CITED_SCORE_FACTOR}))
    return [*passages, *added]
