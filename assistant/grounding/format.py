"""The fixed answer format: 【分类】 category, 【要点】 numbered points, 【依据】 citations.

`parse` turns generator text into a `safety.types.Answer` (tolerant of the usual LLM variations:
full/half-width brackets, "分类：" headings, 1. / 1、 / （1） / - bullets, 《中华人民共和国X法》 long titles,
Arabic or Chinese article numbers) and raises `AnswerFormatError` when a required section is missing,
so the pipeline can ask once for a repair. `render` is the inverse and is what users see.
"""

from __future__ import annotations

import re

from assistant.errors import GeneratorError
from knowledge.numerals import ARTICLE_DIGIT, ARTICLE_SUFFIX, article_label, parse_article_no
from safety.types import Answer, Citation

SECTIONS = ("分类", "要点", "依据")
PRC_PREFIX = "中华人民共和国"


class AnswerFormatError(GeneratorError):
    """Generator output does not have the 【分类】/【要点】/【依据】 structure."""


def short_law_name(name: str) -> str:
    """Strip 《》, whitespace and the 中华人民共和国 prefix: 《中华人民共和国劳动合同法》 -> 劳动合同法."""
    name = name.strip().strip("《》<> ")
    if name.startswith(PRC_PREFIX) and len(name) > len(PRC_PREFIX):
        name = name[len(PRC_PREFIX) :]
    return name


# A section heading: 【分类】, [分类], 〖分类〗, **分类**, 分类：, 分类: … at the start of a line or after whitespace.
_HEADING = re.compile(
    r"(?:【\s*(分类|要点|依据)\s*】|\[\s*(分类|要点|依据)\s*\]|〖(分类|要点|依据)〗|(?:^|\n)\s*\**(分类|要点|依据)\**\s*[：:])"
)
_BULLET = re.compile(
    r"^\s*(?:\d{1,2}\s*[\.、．\)）:]|[（(]\s*\d{1,2}\s*[)）]|[-*•·]|[一二三四五六七八九十]+\s*[、.．])\s*"
)
_CITATION = re.compile(
    r"《\s*([^》\n]{1,60}?)\s*》\s*(?:的)?\s*第\s*(" + ARTICLE_DIGIT + r"{1,8})\s*条" + ARTICLE_SUFFIX
)
_DISCLAIMER_MARKERS = ("仅供参考", "免责声明", "不构成", "遵医嘱", "咨询执业律师")


def split_sections(text: str) -> dict[str, str]:
    """Cut text into its 分类/要点/依据 sections (missing sections are absent from the dict)."""
    matches = list(_HEADING.finditer(text))
    sections: dict[str, str] = {}
    for i, m in enumerate(matches):
        name = next(g for g in m.groups() if g)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[m.end() : end].strip()
        # Keep the first occurrence: a model that repeats a heading usually starts rambling.
        sections.setdefault(name, body)
    return sections


def _split_points(body: str) -> list[str]:
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    if len(lines) <= 1 and body.strip():
        # Points written on one line: "1. a 2. b" / "1、a；2、b".
        pieces = re.split(r"(?:(?<=\s)|(?<=[；;。]))(?=\d{1,2}\s*[\.、．\)）])", body.strip())
        pieces = [p.strip() for p in pieces if p.strip()]
        # Keep the split only if it leaves text in every piece ("1. 1." is one point, not two bullets).
        if all(_BULLET.sub("", p, count=1).strip() for p in pieces):
            lines = pieces
    return _points_from_lines(lines)


def _points_from_lines(lines: list[str]) -> list[str]:
    points: list[str] = []
    for line in lines:
        if any(marker in line for marker in _DISCLAIMER_MARKERS) and not _BULLET.match(line):
            continue  # a disclaimer the model appended is not a key point
        point = _BULLET.sub("", line, count=1).strip().rstrip("；;")
        if point:
            points.append(point)
    return points


def parse_citations(body: str) -> list[Citation]:
    """All 《法》第X条 references in a block of text, in order, de-duplicated."""
    seen: set[tuple[str, int | None]] = set()
    out: list[Citation] = []
    for m in _CITATION.finditer(body):
        law = short_law_name(m.group(1))
        number = parse_article_no(m.group(2))
        key = (law, number)
        if not law or key in seen:
            continue
        seen.add(key)
        # An unreadable number (第九九九九条) keeps its label as written: verification will remove it, and
        # render/parse round-trip it unchanged.
        label = article_label(number) if number is not None else f"第{m.group(2)}条"
        out.append(Citation(law=law, article_no=number, article_label=label))
    return out


def parse(text: str) -> Answer:
    """Parse generator output into an `Answer`; raise `AnswerFormatError` naming what is missing.

    【分类】 and 【要点】 are required (with at least one point); 【依据】 may be empty (the pipeline decides
    what an answer without citations means). Citations in the text are returned unverified.
    """
    if not text or not text.strip():
        raise AnswerFormatError("empty generator output")
    sections = split_sections(text)
    missing = [name for name in ("分类", "要点") if name not in sections]
    if missing:
        raise AnswerFormatError(f"missing section(s): {', '.join('【' + m + '】' for m in missing)}")
    category_lines = [ln.strip() for ln in sections["分类"].splitlines() if ln.strip()]
    category = category_lines[0] if category_lines else ""
    category = category.strip("：: *").split()[0] if category.strip("：: *") else ""
    if not category:
        raise AnswerFormatError("【分类】 is empty")
    points = _split_points(sections["要点"])
    if not points:
        raise AnswerFormatError("【要点】 has no points")
    citations = parse_citations(sections.get("依据", ""))
    return Answer(category=category, points=points, citations=citations, raw=text)


def render(answer: Answer, *, with_text: bool = True, with_disclaimer: bool = True) -> str:
    """Render an answer in the fixed format users see; citations carry their verbatim article text."""
    lines = [f"【分类】{answer.category}", "【要点】"]
    lines += [f"{i}. {p}" for i, p in enumerate(answer.points, 1)]
    lines.append("【依据】")
    if not answer.citations:
        lines.append("（无）")
    for c in answer.citations:
        label = c.article_label or article_label(c.article_no)
        head = f"《{c.law}》{label}"
        lines.append(f"- {head}：{c.text}" if with_text and c.text else f"- {head}")
    if with_disclaimer and answer.disclaimer:
        lines += ["", answer.disclaimer]
    return "\n".join(lines)
