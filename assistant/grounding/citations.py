"""Citation verification: a citation reaches the user only if it names a retrieved article or section.

`verify_citations` checks 【依据】. A statute citation matches on (normalised law name, article number,
之X); a guideline citation on (normalised title, heading path): the cited section must be the passage's
own section or an ancestor of it (《流行性感冒诊疗方案（2025年版）》四、临床表现 covers
四、临床表现 > （一）临床表现). A matched citation gets the passage's verbatim text, id, edition and provenance;
everything else is removed (never repaired into a different article), so citation precision is 1.00 by
construction. `ground` then makes the key points agree with 【依据】: every article or section a point
names is in 【依据】 — added when it was retrieved, replaced by `REMOVED_CITATION` when it was not.
Words quoted verbatim from a retrieved passage (本法第四十四条, a regulation's 依照劳动合同法第八十二条) are
the law's own and stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

from assistant.grounding.refs import (
    Ref,
    article_sub,
    find_refs,
    normalize_law,
    normalize_section,
    parse_citation,
    section_within,
)
from knowledge.numerals import article_label, int_to_cn, parse_article_no
from knowledge.types import Passage
from safety.types import Answer, Citation

REMOVED_CITATION = "〔未核实的引用已删除〕"
_QUOTE_CONTEXT = 6
_BOOK_LABEL = str.maketrans("", "", "《》〈〉<> ")


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


# ---------------------------------------------------------------------- passages
def passage_laws(p: Passage) -> set[str]:
    """The normalised names a passage answers to (short and full title)."""
    return {normalize_law(x) for x in (p.law, p.law_full) if x}


def passage_section(p: Passage) -> str:
    """A guideline passage's heading path ('' for statutes and for guideline articles such as 第7条)."""
    return "" if p.article_no is not None else str(getattr(p, "section", "") or "")


def passage_sections(p: Passage) -> list[str]:
    """Every heading path a guideline passage covers, its own section first."""
    own = passage_section(p)
    more = [s for s in (getattr(p, "sections", None) or []) if s] if p.article_no is None else []
    return [s for s in dict.fromkeys([own, *more]) if s]


def passage_sub(p: Passage) -> int | None:
    """The 之X of an inserted article's passage (第一百二十条之一 → 1)."""
    return article_sub(p.article_label)


def citation_of(p: Passage, section: str = "", clause: str = "") -> Citation:
    """The verified 【依据】 entry for a retrieved passage (verbatim text, edition, provenance)."""
    return Citation(
        law=p.law,
        article_no=p.article_no,
        article_label=p.article_label or article_label(p.article_no),
        clause=clause if p.article_no is not None else "",
        section=section or passage_section(p),
        passage_id=p.id,
        text=p.text,
        version=p.version,
        effective_date=str(getattr(p, "effective_date", "") or ""),
        kind=str(getattr(p, "kind", "") or ""),
        source=str(getattr(p, "source_info", "") or ""),
        origin=str(getattr(p, "origin", "") or ""),
    )


_CLAUSE_PARTS = re.compile(
    r"(?:第([零一二三四五六七八九十\d]+)款)?(?:第?[（(]?([零一二三四五六七八九十\d]+)[)）]?项)?"
)


def clause_holds(clause: str, p: Passage) -> bool:
    """True when the article has the 款/项 named (第二款 needs two paragraphs, 第（五）项 an item （五）)."""
    if not clause:
        return True
    m = _CLAUSE_PARTS.fullmatch(clause)
    if not m or p.article_no is None:
        return False
    lines = [ln.strip() for ln in p.text.splitlines() if ln.strip()]
    items = [ln for ln in lines if re.match(r"^[（(][一二三四五六七八九十]+[)）]", ln)]
    if m.group(1):
        paragraphs = len(lines) - len(items)
        no = parse_article_no(m.group(1))
        if no is None or not 1 <= no <= paragraphs:
            return False
    if m.group(2):
        no = parse_article_no(m.group(2))
        if no is None or not any(
            ln.startswith((f"（{int_to_cn(no)}）", f"({int_to_cn(no)})")) for ln in items
        ):
            return False
    return True


def _display_section(cited: str, p: Passage) -> str:
    """The heading path to show for a cited section: the passage's own path, or the cited subsection's."""
    own = passage_section(p)
    if own and section_within(cited, own):
        return own
    for path in passage_sections(p):
        if section_within(cited, path):
            depth = normalize_section(cited).count(">") + 1
            return " > ".join(x.strip() for x in path.split(">")[:depth])
    return own


# ---------------------------------------------------------------------- 【依据】
def _citation_key(c: Citation) -> tuple[str, int | None, int | None, str]:
    no = c.article_no
    if no is None and c.article_label:
        no = parse_article_no(c.article_label)
    sub = article_sub(c.article_label)
    if no is None and not c.article_label and not c.section:
        try:  # the law field may carry the whole citation string ("《民法典》第一千一百六十五条")
            law, no = parse_citation(c.law)
            return law, no, article_sub(c.law), ""
        except ValueError:
            pass
    return normalize_law(c.law), no, sub, c.section


def _match(c: Citation, passages: Sequence[Passage]) -> Passage | None:
    law, no, sub, section = _citation_key(c)
    if not law:
        return None
    label = c.article_label.translate(_BOOK_LABEL)
    candidates: list[Passage] = []
    for p in passages:
        if law not in passage_laws(p):
            continue
        if no is not None:
            if p.article_no == no and passage_sub(p) == sub:
                candidates.append(p)
        elif section:
            if any(section_within(section, path) for path in passage_sections(p)):
                candidates.append(p)
        elif p.article_no is None and label and p.article_label.translate(_BOOK_LABEL) == label:
            candidates.append(p)  # free passages with a label of their own (一、)
        elif c.passage_id and p.id == c.passage_id:
            candidates.append(p)
        elif not label and p.article_no is None and passage_sections(p):
            candidates.append(p)  # a guideline cited by title alone: its best-ranked retrieved section
    if not candidates:
        return None
    for attr, want in (("version", c.version), ("id", c.passage_id)):
        same = [p for p in candidates if want and getattr(p, attr) == want]
        if same:
            return same[0]
    # Otherwise the best-ranked retrieved passage (passages arrive in retrieval order).
    return max(candidates, key=lambda p: p.score) if any(p.score for p in candidates) else candidates[0]


def verify_citations(answer: Answer, passages: Sequence[Passage]) -> CitationCheck:
    """Keep the citations that match a retrieved passage (filled with its verbatim text and id); remove the rest.

    Duplicates (two citations resolving to the same passage) are collapsed into one and are not counted as
    removed. The input answer is not modified.
    """
    kept: list[Citation] = []
    removed: list[Citation] = []
    used: set[tuple[str, str]] = set()  # (passage, section): one guideline passage may span two sections
    for c in answer.citations:
        p = _match(c, passages)
        if p is None:
            removed.append(c)
            continue
        section = _display_section(c.section, p) if c.section else ""
        if (p.id, section) in used:
            continue
        used.add((p.id, section))
        # An article that exists with a 款/项 that does not: the article stays, the clause goes.
        kept.append(citation_of(p, section=section, clause=c.clause if clause_holds(c.clause, p) else ""))
    return CitationCheck(answer=answer.model_copy(update={"citations": kept}), removed=removed)


# ---------------------------------------------------------------------- key points
def _quoted(point: str, ref: Ref, basis: Sequence[Passage]) -> bool:
    """True when the reference sits inside words quoted verbatim from a retrieved passage (the law's own).

    The reference must come with at least `_QUOTE_CONTEXT` characters of the same passage around it, so
    naming an article that a retrieved passage merely mentions is still checked."""
    before = point[max(0, ref.start - _QUOTE_CONTEXT) : ref.end]
    after = point[ref.start : ref.end + _QUOTE_CONTEXT]
    windows = [
        w for w, extra in ((before, ref.start), (after, len(point) - ref.end)) if extra >= _QUOTE_CONTEXT
    ]
    return any(w in p.text for w in windows for p in basis)


def _passage_for(ref: Ref, basis: Sequence[Passage]) -> Passage | None:
    """The retrieved passage a reference names, if any."""
    if ref.section_unknown:
        return None
    label = f"第{int_to_cn(ref.article_no)}条之{int_to_cn(ref.sub)}" if ref.article_no and ref.sub else ""
    return _match(
        Citation(law=ref.law, article_no=ref.article_no, article_label=label, section=ref.section), basis
    )


def _in_basis(ref: Ref, citations: Sequence[Citation]) -> bool:
    """True when 【依据】 holds what the reference names (a section: the same, an ancestor or a descendant)."""
    names = set(ref.names())
    for c in citations:
        if normalize_law(c.law) not in names:
            continue
        if ref.article_no is not None:
            if c.article_no == ref.article_no and article_sub(c.article_label) == ref.sub:
                return True
        elif ref.section and c.section and not ref.section_unknown:
            if section_within(ref.section, c.section) or section_within(c.section, ref.section):
                return True
    return False


class Grounding(BaseModel):
    """Result of `ground`: the answer as it may be shown, and what had to be taken out of it."""

    answer: Answer = Field(description="Verified citations (verbatim text filled), scrubbed key points")
    removed: list[Citation] = Field(
        default_factory=list, description="【依据】 entries matching nothing retrieved"
    )
    scrubbed_points: int = Field(default=0, description="Key points in which a citation was replaced")
    added: list[Citation] = Field(
        default_factory=list, description="Retrieved articles a point named that 【依据】 lacked (now added)"
    )

    @property
    def changed(self) -> bool:
        """True when a citation was removed from 【依据】 or from a key point."""
        return bool(self.removed) or self.scrubbed_points > 0


def _sections_by_title(basis: Sequence[Passage], citations: Sequence[Citation]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in basis:
        for law in passage_laws(p):
            out.setdefault(law, []).extend(passage_sections(p))
    for c in citations:
        if c.section:
            out.setdefault(normalize_law(c.law), []).append(c.section)
    return out


def scrub_point(
    point: str, basis: Sequence[Passage], citations: list[Citation] | None = None
) -> tuple[str, bool, list[Citation]]:
    """Make one key point name only what 【依据】 holds.

    `citations` is the verified 【依据】 (not modified): a reference to a retrieved passage missing from it
    is returned for adding, one to anything else is replaced by `REMOVED_CITATION`. Returns (point,
    whether anything was replaced, citations to add).
    """
    citations = list(citations or [])
    refs = find_refs(point, _sections_by_title(basis, citations))
    added: list[Citation] = []
    cuts: list[tuple[int, int, str]] = []
    for i, ref in enumerate(refs):
        if ref.self_reference or _quoted(point, ref, basis):
            continue
        p = _passage_for(ref, basis)
        if ref.clause and p is not None and not clause_holds(ref.clause, p):
            cuts.append((ref.clause_start, ref.end, ""))  # the article is real, the 款/项 is not
        if _in_basis(ref, citations + added):
            continue
        if p is not None:
            section = _display_section(ref.section, p) if ref.section else ""
            added.append(citation_of(p, section=section, clause=ref.clause))
            continue
        followers = []
        for r in refs[i + 1 :]:
            if not r.follower:
                break
            followers.append(r)
        followers_kept = any(_in_basis(r, citations + added) or _passage_for(r, basis) for r in followers)
        if ref.title_end > 0 and followers_kept:
            cuts.append(
                (ref.title_end, ref.end, REMOVED_CITATION)
            )  # keep the title the kept articles hang on
        elif ref.follower:
            cuts.append((ref.start, ref.end, ""))
        else:  # the whole reference; prose before a bare name (依照…) stays
            cuts.append((ref.start, ref.end, REMOVED_CITATION))
    if not cuts:
        return point, False, added
    out = point
    for start, end, repl in sorted(cuts, reverse=True):
        out = out[:start] + repl + out[end:]
    return out, True, added


def ground(answer: Answer, basis: Sequence[Passage]) -> Grounding:
    """Verify an answer against the passages it may rest on: 【依据】 checked, then every key point scrubbed.

    Afterwards no key point names an article or section that is not in 【依据】 (except inside words quoted
    verbatim from a retrieved passage), and every 【依据】 entry is a retrieved passage with its verbatim text.
    """
    check = verify_citations(answer, basis)
    citations = list(check.answer.citations)
    added: list[Citation] = []
    points: list[str] = []
    scrubbed = 0
    for point in check.answer.points:
        point, changed, more = scrub_point(point, basis, citations)
        for c in more:
            if c.passage_id not in {x.passage_id for x in citations}:
                citations.append(c)
                added.append(c)
        scrubbed += changed
        points.append(point)
    return Grounding(
        answer=check.answer.model_copy(update={"points": points, "citations": citations}),
        removed=check.removed,
        scrubbed_points=scrubbed,
        added=added,
    )
