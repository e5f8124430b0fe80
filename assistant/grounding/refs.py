"""Finding what a piece of text cites: 《法》第X条, X法第X条之一, 《指南》四、临床表现 > （一）….

A *reference* (`Ref`) is one article or guideline section named in text, with its span, so callers can
check it and cut it out. Titles may nest other titles (《中国人民解放军实施〈药品管理法〉办法》 or the same
with inner 《》); law names are compared after `normalize_law`. Guideline sections cannot be delimited in
free text by syntax alone, so `find_refs` recognises a section only when it is one of the `sections` it
is given for that title (the sections of the retrieved passages); a heading-like reference to any other
section is still reported (`section_unknown=True`) so it can be removed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from knowledge.numerals import ARTICLE_NUMERAL, cn_to_int, parse_article_no

PRC_PREFIXES = ("中华人民共和国", "中國人民共和國")
# A trailing amendment note (（2018修正）) is not part of a name; an edition (（2025年版）, （试行第十版）) is.
_VERSION_NOTE = re.compile(r"[（(][^（）()]*(?:修正|修订|修改|公布|施行)[^（）()]*[)）]\s*$")
_BOOK = re.compile(r"[《》〈〉<>“”\"'‘’\s]")
_OPEN, _CLOSE = "《〈", "》〉"
_MAX_TITLE = 80
_SUB_NUMERAL = "[一二三四五六七八九十]+"
# What may follow a title to name one of its articles: 第四十六条[之一][第一款][第（五）项], and more
# articles of the same law after 、/和/及/与 (第四十六条、第四十七条).
_CLAUSE = rf"(?:\s*第\s*{ARTICLE_NUMERAL}\s*款)?(?:\s*第?\s*[（(]?\s*{ARTICLE_NUMERAL}\s*[)）]?\s*项)?"
_ARTICLE_BODY = rf"(?P<label>第\s*(?P<no>{ARTICLE_NUMERAL})\s*条(?:\s*之\s*(?P<sub>{_SUB_NUMERAL}))?)(?P<clause>{_CLAUSE})"
_ARTICLE_AT = re.compile(rf"\s*(?:的)?\s*{_ARTICLE_BODY}")
_MORE_ARTICLE = re.compile(rf"\s*[、和及与,，]\s*{_ARTICLE_BODY}")
# A bare law name in prose: a run of CJK ending in a law-type word, then 第X条.
_BARE = re.compile(
    rf"(?P<law>[\u4e00-\u9fff]{{1,30}}?(?:法典|法|条例|规定|办法|解释|细则)(?:[(（][^()（）]{{0,20}}[)）])?)\s*(?P<label>第\s*(?P<no>{ARTICLE_NUMERAL})\s*条"
    rf"(?:\s*之\s*(?P<sub>{_SUB_NUMERAL}))?)(?P<clause>)"
)
_SELF_REFERENCE = re.compile(r"本(?:法|法典|条例|规定|办法|解释|细则|规范|方案|指南|决定)$")
# Words (single-character prepositions included) that often run into a bare law name in prose.
_PROSE_LEAD_WORDS = re.compile(
    r"^(?:依照|按照|根据|依据|违反|参照|适用|对照|符合|依|按|据|见|即|由|和|与|及|或|如|以及|、)+"
)
# A heading as guidelines number them: 四、 （一） 1. 第一章 第二节 (what a section reference starts with).
_HEADING_START = re.compile(
    r"\s*(?:[一二三四五六七八九十]+\s*、|[（(]\s*[一二三四五六七八九十]+\s*[)）]|\d{1,2}\s*[.．、](?!\d)|第[一二三四五六七八九十\d]+[章节部分篇])"
)
_DEEPER = re.compile(r"\s*>")
_SECTION_END = re.compile(r"[。；;，,：:\n〔]")


def normalize_law(name: str) -> str:
    """Canonical law/guideline name for matching: no 《》〈〉, no 中华人民共和国 prefix, no trailing (2018修正) note."""
    s = unicodedata.normalize("NFKC", name or "")
    s = _BOOK.sub("", s)
    s = _PROSE_LEAD_WORDS.sub("", s) or s
    while True:  # version notes may be stacked: 劳动合同法(2012修正)
        stripped = _VERSION_NOTE.sub("", s)
        if stripped == s or not stripped:
            break
        s = stripped
    for prefix in PRC_PREFIXES:
        if s.startswith(prefix) and len(s) > len(prefix):
            s = s[len(prefix) :]
            break
    return s


def normalize_section(section: str) -> str:
    """Canonical heading path for matching: NFKC, no spaces, no closing punctuation, '>' as the separator."""
    s = unicodedata.normalize("NFKC", section or "")
    return re.sub(r"\s+", "", s).strip(">").rstrip("。;；,，.")


def section_within(cited: str, path: str) -> bool:
    """True when heading path `cited` is `path` itself or one of its ancestors (at a ' > ' boundary)."""
    c, p = normalize_section(cited), normalize_section(path)
    return bool(c) and (p == c or p.startswith(c + ">"))


def article_sub(label: str) -> int | None:
    """The 之X of an inserted article label (第一百二十条之一 → 1); None for an ordinary article."""
    m = re.search(rf"条\s*之\s*({_SUB_NUMERAL})", label or "")
    if not m:
        return None
    try:
        return cn_to_int(m.group(1))
    except ValueError:
        return None


@dataclass(frozen=True)
class Ref:
    """One article or section named in text."""

    law: str  # normalised title
    title: str  # the title as written, outer 《》 and 中华人民共和国 removed (劳动合同法, 中国人民解放军实施〈药品管理法〉办法)
    start: int
    end: int
    article_no: int | None = None
    label: str = ""  # the article as written: 第四十六条 / 第一百二十条之一 / 第九九九九条
    sub: int | None = None  # 之一 → 1
    clause: str = ""  # 第一款 / 第（五）项 as written
    section: str = ""  # guideline heading path as written in the text
    section_unknown: bool = False  # a heading-like reference to a section we were not told about
    bracketed: bool = True  # the title was in 《》
    self_reference: bool = False  # 本法第X条: the law's own words
    title_end: int = -1  # for a 《title》 reference: where its title ends; -1 for bare names and followers
    follower: bool = False  # 第四十七条 in 《法》第四十六条、第四十七条 (its span starts at the 、)
    clause_start: int = -1  # where the 款/项 part starts in the text (-1: none)

    def names(self) -> list[str]:
        """The law names this reference may mean: a bare run of prose may carry words before the name
        (…终止劳动合同法第十条), so every suffix of at least two characters is a candidate, longest first."""
        if self.bracketed:
            return [self.law]
        return [self.law[i:] for i in range(len(self.law) - 1)]

    def key(self) -> tuple[str, int | None, int | None, str]:
        """(law, article_no, sub, normalised section): what must be in 【依据】 for this reference."""
        return (self.law, self.article_no, self.sub, normalize_section(self.section))


def title_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost 《…》 title, nesting 《》/〈〉 allowed; `end` is past the closing mark."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        if text[i] != "《":
            i += 1
            continue
        depth = 0
        j = i
        while j < len(text) and j - i <= _MAX_TITLE:
            ch = text[j]
            if ch in _OPEN:
                depth += 1
            elif ch in _CLOSE:
                depth -= 1
                if depth == 0:
                    break
            elif ch == "\n":
                break
            j += 1
        if j < len(text) and depth == 0 and text[j] in _CLOSE:
            spans.append((i, j + 1))
            i = j + 1
        else:
            i += 1
    return spans


def _int(raw: str | None) -> int | None:
    return parse_article_no(raw) if raw else None


def _sub(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        return cn_to_int(raw)
    except ValueError:
        return None


def clean_title(bracketed: str) -> str:
    """A title as written without its outer 《》 (inner ones kept), spaces and the 中华人民共和国 prefix."""
    s = bracketed.strip()
    if s.startswith("《") and s.endswith(("》", "〉")):
        s = s[1:-1]
    s = s.strip()
    for prefix in PRC_PREFIXES:
        if s.startswith(prefix) and len(s) > len(prefix):
            s = s[len(prefix) :]
            break
    return s


def _article_ref(law: str, title: str, m: re.Match[str], start: int, **extra: object) -> Ref:
    label = re.sub(r"\s+", "", m.group("label"))
    clause = re.sub(r"\s+", "", m.group("clause") or "")
    if clause:
        extra["clause_start"] = m.start("clause") + len(m.group("clause")) - len(m.group("clause").lstrip())
    return Ref(law, title, start, m.end(), _int(m.group("no")), label, _sub(m.group("sub")), clause, **extra)  # type: ignore[arg-type]


def _section_pattern(section: str) -> re.Pattern[str]:
    pieces = [re.escape(x.strip()) for x in section.split(">") if x.strip()]
    flexible = [r"\s*".join(re.escape(ch) for ch in p.replace("\\", "")) for p in pieces]
    return re.compile(r"\s*" + r"\s*>?\s*".join(flexible))


_PIECE_LABEL = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d{1,2}\s*[.．、](?!\d)|第[一二三四五六七八九十\d]+[章节篇条])"
)
_LONG_PIECE = 16


def short_section(section: str) -> str:
    """A heading path readable inside a key point: a long numbered heading shrinks to its number
    (一、基本知识和理念 > 12. 出现咳嗽、咳痰 2 周以上… → 一、基本知识和理念 > 12.); `find_refs` reads it back."""
    pieces = [x.strip() for x in section.split(">") if x.strip()]
    out = []
    for piece in pieces:
        m = _PIECE_LABEL.match(piece)
        out.append(m.group(0).strip() if m and len(piece) > _LONG_PIECE else piece)
    return " > ".join(out)


def _known_section_at(text: str, pos: int, sections: Iterable[str]) -> tuple[str, int] | None:
    """The longest known section (or ancestor path of one, or its `short_section`) written at text[pos:],
    as (the full heading path, where it ends)."""
    candidates: dict[str, str] = {}
    for s in sections:
        pieces = [x.strip() for x in s.split(">") if x.strip()]
        for i in range(len(pieces)):
            full = " > ".join(pieces[: i + 1])
            candidates.setdefault(full, full)
            candidates.setdefault(short_section(full), full)
    best: tuple[str, int] | None = None
    for written, full in candidates.items():
        m = _section_pattern(written).match(text, pos)
        if m and (best is None or m.end() > best[1]):
            best = (full, m.end())
    return best


def _unknown_section_end(text: str, pos: int) -> int:
    """Where a heading-like reference that matches no known section ends (unbalanced ） or punctuation)."""
    depth = 0
    j = pos
    while j < len(text):
        ch = text[j]
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and _SECTION_END.match(ch):
            break
        j += 1
    return j


def find_refs(text: str, sections: Mapping[str, Iterable[str]] | None = None) -> list[Ref]:
    """Every article or section reference in `text`, in order.

    `sections` maps a normalised title to the heading paths that may follow it (the retrieved passages');
    without it a section is recognised only as `section_unknown`. Titles without an article or section
    after them name a document, not a part of it, and are not returned.
    """
    sections = sections or {}
    refs: list[Ref] = []
    spans = title_spans(text)
    for start, end in spans:
        law = normalize_law(text[start:end])
        if not law:
            continue
        title = clean_title(text[start:end])
        m = _ARTICLE_AT.match(text, end)
        if m:
            refs.append(_article_ref(law, title, m, start, title_end=end))
            pos = m.end()
            while more := _MORE_ARTICLE.match(text, pos):
                # A follower's span starts at its separator, so removing it leaves no dangling 、.
                refs.append(_article_ref(law, title, more, more.start(), follower=True))
                pos = more.end()
            continue
        known = _known_section_at(text, end, sections.get(law, ()))
        # A known heading followed by a deeper one (四、临床表现 > （九）…) names that deeper, unknown section.
        deeper = known is not None and bool(
            _DEEPER.match(text, known[1]) or _HEADING_START.match(text, known[1])
        )
        if known is not None and not deeper:
            refs.append(Ref(law, title, start, known[1], section=known[0], title_end=end))
        elif _HEADING_START.match(text, end):
            stop = _unknown_section_end(text, end)
            if stop > end:
                section = text[end:stop].strip()
                refs.append(
                    Ref(law, title, start, stop, section=section, section_unknown=True, title_end=end)
                )
    # Bare names (劳动合同法第四十七条) outside the bracketed titles.
    masked = list(text)
    for start, end in [*spans, *((r.start, r.end) for r in refs)]:
        masked[start:end] = "＿" * (end - start)
    masked_text = "".join(masked)
    for m in _BARE.finditer(masked_text):
        raw = m.group("law")
        law = _PROSE_LEAD_WORDS.sub("", raw)
        lead = len(raw) - len(law)
        self_ref = law.startswith("本") or bool(_SELF_REFERENCE.search(law)) or len(law) < 2
        refs.append(
            _article_ref(
                normalize_law(law), law, m, m.start() + lead, bracketed=False, self_reference=self_ref
            )
        )
    return sorted(refs, key=lambda r: r.start)


def parse_citation(text: str) -> tuple[str, int | None]:
    """Split a citation string such as "《劳动合同法》第四十七条" into ("劳动合同法", 47).

    The law name is normalised (see `normalize_law`); the article number is None when the string names
    no 第X条. Raises ValueError when no law name can be found.
    """
    s = unicodedata.normalize("NFKC", text or "").strip()
    refs = [r for r in find_refs(s) if not r.self_reference]
    if refs:
        return refs[0].law, refs[0].article_no
    spans = title_spans(s)
    law = normalize_law(s[spans[0][0] : spans[0][1]]) if spans else ""
    if not law and s and not re.search(r"第\s*" + ARTICLE_NUMERAL + r"\s*条", s):
        law = (
            normalize_law(s)
            if re.search(r"(?:法典|法|条例|规定|办法|解释|细则|规则|决定|准则|指南|规范|共识)$", s)
            else ""
        )
    if not law:
        raise ValueError(f"not a citation: {text!r}")
    return law, None


def find_citations(text: str) -> list[tuple[str, int | None]]:
    """All (law, article_no) citations in free text, in order, without duplicates; 《titles》 alone count too."""
    s = unicodedata.normalize("NFKC", text or "")
    found: list[tuple[int, tuple[str, int | None]]] = [
        (r.start, (r.law, r.article_no))
        for r in find_refs(s)
        if not r.self_reference and r.article_no is not None
    ]
    cited_titles = {r.start for r in find_refs(s)}
    for start, end in title_spans(s):
        if start not in cited_titles:
            found.append((start, (normalize_law(s[start:end]), None)))
    seen: list[tuple[str, int | None]] = []
    for _, key in sorted(found):
        if key[0] and key not in seen:
            seen.append(key)
    return seen
