"""Citation verification and scrubbing: a citation reaches the user only if it names a retrieved article.

`verify_citations` checks 【依据】: matching is on (normalised law name, article number). Law names tolerate
《》, the 中华人民共和国 prefix, version notes such as （2018修正）, and whitespace; article numbers may be
Chinese or Arabic numerals. A matched citation gets the passage's verbatim text and id; everything else is
removed (never repaired into a different article), so citation precision is 1.00 by construction.
`scrub_point` does the same for citations written inside a key point (they are replaced by a notice), and
`ground` applies both to a whole answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from pydantic import BaseModel, Field

from knowledge.numerals import ARTICLE_NUMERAL, article_label, cn_to_int, parse_article_no
from knowledge.types import Passage
from safety.types import Answer, Citation

_PREFIXES = ("中华人民共和国", "中國人民共和國")
_VERSION_NOTE = re.compile(r"[（(][^（）()]*[)）]\s*$")
_BOOK = re.compile(r"[《》〈〉<>“”\"'‘’\s]")
_NUM = ARTICLE_NUMERAL
# 《中华人民共和国劳动合同法》第四十七条 / 劳动合同法第47条 / 《民法典》第1165条第一款
_LAW_SUFFIX = r"(?:法典|法|条例|规定|办法|解释|细则|规则|决定|准则|指南|规范|共识)"
_CITATION_RE = re.compile(
    rf"(?P<law>《[^《》]{{1,60}}》|[\u4e00-\u9fffA-Za-z（）()]{{1,40}}?{_LAW_SUFFIX}(?:[(（][^()（）]{{0,20}}[)）])?(?=\s*第|$|[，。、；：,.;:\s）)]))"
    rf"\s*(?:第\s*(?P<no>{_NUM})\s*条(?:\s*之\s*(?P<sub>{_NUM}))?)?"
)
# Words that run into an unbracketed law name in prose: "依据民法典…" / "和劳动法…".
_LEAD_WORDS = re.compile(r"^(?:依据|根据|按照|依照|参照|适用|违反|符合|对照|见|如|和|及|与|以及|或|、)+")


class CitationCheck(BaseModel):
    """Result of `verify_citations`."""

    answer: Answer = Field(
        description="The answer with only verified citations (verbatim text + passage_id filled)"
    )
    removed: list[Citation] = Field(
        default_factory=list, description="Citations that matched no retrieved passage"
    )

    @property
    def ok(self) -> bool:
        """True when nothing had to be removed."""
        return not self.removed


def normalize_law(name: str) -> str:
    """Canonical law name for matching: no 《》, no 中华人民共和国 prefix, no trailing (2018修正) note."""
    s = unicodedata.normalize("NFKC", name or "")
    s = _BOOK.sub("", s)
    s = _LEAD_WORDS.sub("", s) or s
    # Strip version notes possibly stacked: 劳动合同法(2012修正)
    while True:
        stripped = _VERSION_NOTE.sub("", s)
        if stripped == s:
            break
        s = stripped
    for prefix in _PREFIXES:
        if s.startswith(prefix) and len(s) > len(prefix):
            s = s[len(prefix) :]
            break
    return s


def parse_citation(text: str) -> tuple[str, int | None]:
    """Split a citation string such as "《劳动合同法》第四十七条" into ("劳动合同法", 47).

    The law name is normalised (see `normalize_law`); the article number is None when the string names
    no 第X条. Raises ValueError when no law name can be found.
    """
    m = _CITATION_RE.search(unicodedata.normalize("NFKC", text).replace(" ", "") or "")
    if not m:
        raise ValueError(f"not a citation: {text!r}")
    law = normalize_law(m.group("law"))
    if not law:
        raise ValueError(f"not a citation: {text!r}")
    no = cn_to_int(m.group("no")) if m.group("no") else None
    return law, no


def find_citations(text: str) -> list[tuple[str, int | None]]:
    """All (law, article_no) citations mentioned in free text, in order, without duplicates."""
    seen: list[tuple[str, int | None]] = []
    for m in _CITATION_RE.finditer(unicodedata.normalize("NFKC", text or "")):
        if not m.group("no") and not m.group("law").startswith("《"):
            continue  # a bare word ending in 法 (方法, 办法) is not a citation
        law = normalize_law(m.group("law"))
        no = cn_to_int(m.group("no")) if m.group("no") else None
        if law and (law, no) not in seen:
            seen.append((law, no))
    return seen


def _citation_key(c: Citation) -> tuple[str, int | None, str]:
    no = c.article_no
    if no is None and c.article_label:
        no = parse_article_no(c.article_label)
    if no is None and not c.article_label:
        # The law field may carry the whole citation string ("《民法典》第一千一百六十五条").
        try:
            law, no = parse_citation(c.law)
            return law, no, ""
        except ValueError:
            pass
    return normalize_law(c.law), no, _BOOK.sub("", c.article_label)


def _passage_laws(p: Passage) -> set[str]:
    return {normalize_law(x) for x in (p.law, p.law_full) if x}


def _match(c: Citation, passages: Sequence[Passage]) -> Passage | None:
    law, no, label = _citation_key(c)
    if not law:
        return None
    candidates: list[Passage] = []
    for p in passages:
        if law not in _passage_laws(p):
            continue
        if no is not None:
            if p.article_no == no:
                candidates.append(p)
        elif p.article_no is None and label and _BOOK.sub("", p.article_label) == label:
            # Free passages (guidelines without 第X条) are matched by their label.
            candidates.append(p)
        elif c.passage_id and p.id == c.passage_id:
            candidates.append(p)
    if not candidates:
        return None
    if c.version:
        same = [p for p in candidates if p.version == c.version]
        if same:
            return same[0]
    if c.passage_id:
        same = [p for p in candidates if p.id == c.passage_id]
        if same:
            return same[0]
    # Otherwise the best-ranked retrieved version (passages arrive in retrieval order).
    return max(candidates, key=lambda p: p.score) if any(p.score for p in candidates) else candidates[0]


def verify_citations(answer: Answer, passages: Sequence[Passage]) -> CitationCheck:
    """Keep the citations that match a retrieved passage (filled with its verbatim text and id); remove the rest.

    Duplicates (two citations resolving to the same passage) are collapsed into one and are not counted as
    removed. The input answer is not modified.
    """
    kept: list[Citation] = []
    removed: list[Citation] = []
    used: set[str] = set()
    for c in answer.citations:
        p = _match(c, passages)
        if p is None:
            removed.append(c)
            continue
        if p.id in used:
            continue
        used.add(p.id)
        kept.append(
            Citation(
                law=p.law,
                article_no=p.article_no,
                article_label=p.article_label or article_label(p.article_no),
                passage_id=p.id,
                text=p.text,
                version=p.version,
            )
        )
    return CitationCheck(answer=answer.model_copy(update={"citations": kept}), removed=removed)


# ---------------------------------------------------------------------- citations inside key points
REMOVED_CITATION = "〔未核实的引用已删除〕"
# 《X法》第N条 (explicit) or X法第N条 (bare: the name is a run of CJK ending in a law-type word).
_CITE_SPAN = re.compile(
    r"《(?P<blaw>[^《》]{1,60})》\s*(?:的)?\s*第\s*(?P<bno>" + ARTICLE_NUMERAL + r")\s*条"
    r"|(?P<law>[\u4e00-\u9fff]{1,30}?(?:法|条例|规定|办法|解释|细则))\s*第\s*(?P<no>"
    + ARTICLE_NUMERAL
    + r")\s*条"
)
_SELF_REFERENCE = re.compile(r"本(?:法|条例|规定|办法|解释|细则)$")
# Words (single-character prepositions included) that often precede a bare law name in prose.
_PROSE_LEAD_WORDS = re.compile(
    r"^(?:依照|按照|根据|依据|违反|参照|适用|对照|符合|依|按|据|见|即|由|和|与|及|或)+"
)


def _names_retrieved(law: str, no: int | None, basis: Sequence[Passage]) -> bool:
    law = normalize_law(law)
    return any(no == p.article_no and law in _passage_laws(p) for p in basis)


def scrub_point(point: str, basis: Sequence[Passage]) -> tuple[str, bool]:
    """Replace citations inside a key point that name no retrieved article; report whether any was replaced.

    A point quoting an article verbatim is left alone (its 本法第X条 cross-references are the law's own
    words); so are cross-references such as 本法第四十七条 / 前款 that name no other law.
    """
    body = re.sub(r"（《[^》]*》第[^）]*条）$", "", point).strip().rstrip("；;。")
    pieces = [x.strip() for x in re.split(r"[：:]", body) if x.strip()]
    if pieces and any(all(x in p.text for x in pieces) for p in basis):
        return point, False  # verbatim statements (a list item joined to its lead-in included)

    def repl(m: re.Match) -> str:
        if m.group("blaw") is not None:
            law, no = m.group("blaw"), parse_article_no(m.group("bno"))
            return m.group(0) if _names_retrieved(law, no, basis) else REMOVED_CITATION
        law, no = _PROSE_LEAD_WORDS.sub("", m.group("law")), parse_article_no(m.group("no"))
        if law.startswith("本") or _SELF_REFERENCE.search(law) or len(law) < 2:
            return m.group(0)  # 本法第四十七条: a reference inside the quoted law itself
        # Any suffix of the bare run may be the law's name (…终止劳动合同法第十条 → 劳动合同法).
        if any(_names_retrieved(law[i:], no, basis) for i in range(len(law) - 1)):
            return m.group(0)
        lead = m.group("law")[: len(m.group("law")) - len(law)]
        return lead + REMOVED_CITATION

    new = _CITE_SPAN.sub(repl, point)
    return new, new != point


class Grounding(BaseModel):
    """Result of `ground`: the answer as it may be shown, and what had to be taken out of it."""

    answer: Answer = Field(description="Verified citations (verbatim text filled), scrubbed key points")
    removed: list[Citation] = Field(
        default_factory=list, description="【依据】 entries matching nothing retrieved"
    )
    scrubbed_points: int = Field(default=0, description="Key points in which a citation was replaced")

    @property
    def changed(self) -> bool:
        """True when a citation was removed from 【依据】 or from a key point."""
        return bool(self.removed) or self.scrubbed_points > 0


def ground(answer: Answer, basis: Sequence[Passage]) -> Grounding:
    """Verify an answer against the passages it may rest on: `verify_citations`, then `scrub_point` on each point."""
    check = verify_citations(answer, basis)
    points: list[str] = []
    scrubbed = 0
    for point in check.answer.points:
        point, changed = scrub_point(point, basis)
        scrubbed += changed
        points.append(point)
    return Grounding(
        answer=check.answer.model_copy(update={"points": points}),
        removed=check.removed,
        scrubbed_points=scrubbed,
    )
