"""The fixed answer format: 【分类】 category, 【要点】 numbered points, 【依据】 citations.

`parse` turns generator text into a `safety.types.Answer` (tolerant of the usual LLM variations:
full/half-width brackets, "分类：" headings, 1. / 1、 / （1） / - bullets, 《中华人民共和国X法》 long titles,
Arabic or Chinese article numbers) and raises `AnswerFormatError` when a required section is missing,
so the pipeline can ask once for a repair. `render` is the inverse and is what users see.
"""

from __future__ import annotations

import re

from assistant.errors import GeneratorError
from assistant.grounding.refs import Ref, clean_title, find_refs, normalize_law, title_spans
from knowledge.numerals import ARTICLE_NUMERAL, article_label, int_to_cn
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
_META = re.compile(r"〔[^〔〕]*〕")
_ONE_LINE_BULLET = re.compile(r"(?:(?<=\s)|(?<=[；;。]))(?=\d{1,2}\s*[\.、．\)）])")
# A 【依据】 line may also name a law without 《》: 劳动合同法第四十七条.
_BARE_START = re.compile(
    rf"^[\u4e00-\u9fff]{{1,30}}?(?:法典|法|条例|规定|办法|解释|细则)\s*第\s*{ARTICLE_NUMERAL}\s*条"
)
_DISCLAIMER_MARKERS = ("仅供参考", "免责声明", "不构成", "遵医嘱", "咨询执业律师")


def _depth(text: str) -> int:
    """How many brackets (（ or () are open at the end of `text`."""
    return sum(ch in "（(" for ch in text) - sum(ch in "）)" for ch in text)


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
        # Points written on one line: "1. a 2. b" / "1、a；2、b" — never split inside brackets: a citation's
        # heading path may end in a numbered section (「…（《非新生儿破伤风诊疗规范》… > 2.高风险）」).
        text = body.strip()
        cuts = [m.start() for m in _ONE_LINE_BULLET.finditer(text) if _depth(text[: m.start()]) == 0]
        pieces = [text[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        pieces = [p for p in pieces if p]
        # Keep the split only if it leaves text in every piece ("1. 1." is one point, not two bullets).
        if all(_BULLET.sub("", p, count=1).strip() for p in pieces):
            lines = pieces
    return _points_from_lines(lines)


def _points_from_lines(lines: list[str]) -> list[str]:
    points: list[str] = []
    for line in lines:
        if any(marker in line for marker in _DISCLAIMER_MARKERS) and not _BULLET.match(line):
            continue  # a disclaimer the model appended is not a key point
        bare = _BULLET.sub("", line, count=1).strip()
        point = bare.rstrip("；;") or bare  # a point that is only punctuation stays what it was
        if point:
            points.append(point)
    return points


def _label(ref: Ref) -> str:
    if ref.article_no is None:
        return (
            ref.label
        )  # an unreadable number (第九九九九条) keeps its label as written; verification removes it
    return article_label(ref.article_no) + (f"之{int_to_cn(ref.sub)}" if ref.sub else "")


def _line_citations(line: str) -> list[Citation]:
    """The citations one 【依据】 line names: articles, or a guideline section, or a title alone."""
    spans = title_spans(line)
    head = line
    # Text after the first colon that follows a title is the quoted article/section, not more citations.
    colon = re.search(r"[：:]", line[spans[0][1] :]) if spans else re.search(r"[：:]", line)
    if colon:
        head = line[: (spans[0][1] if spans else 0) + colon.start()]
    refs = [r for r in find_refs(head) if r.label and not r.self_reference]
    if refs:
        return [
            Citation(law=r.title, article_no=r.article_no, article_label=_label(r), clause=r.clause)
            for r in refs
        ]
    if not spans:
        return []
    start, end = spans[0]
    rest = _META.sub("", head[end:]).strip().rstrip("；;，,")
    return [Citation(law=clean_title(line[start:end]), section=rest)]


def parse_citations(body: str) -> list[Citation]:
    """The citations of a 【依据】 block, in order, de-duplicated.

    One entry a line (`- 《劳动合同法》第四十七条`, `《流行性感冒诊疗方案（2025年版）》十、治疗 > （三）抗病毒治疗`,
    several articles of one law after 、); lines that do not start with a citation (the quoted text of a
    rendered answer) are skipped.
    """
    seen: set[tuple[str, int | None, str, str]] = set()
    out: list[Citation] = []
    in_quote = False  # inside the verbatim text a rendered entry quotes after its ：
    for raw in body.splitlines():
        stripped = raw.strip()
        line = _BULLET.sub("", stripped, count=1).strip()
        if not line:
            continue
        new_entry = line != stripped or line.startswith("《") or bool(_BARE_START.match(line))
        if in_quote and not new_entry:
            continue
        found = _line_citations(line)
        in_quote = bool(found) and bool(re.search(r"[：:]\s*\S", line))
        for c in found:
            key = (normalize_law(c.law), c.article_no, c.article_label, c.section)
            if not key[0] or key in seen:
                continue
            seen.add(key)
            out.append(c)
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


def citation_meta(c: Citation) -> str:
    """Edition and provenance of a verified citation, e.g. 〔2012-12-28 版〕 / 〔施行 2023-09-13 · 国家卫生健康委员会〕."""
    parts: list[str] = []
    if c.section and c.article_no is None:
        if c.effective_date:
            parts.append(f"施行 {c.effective_date}")
    elif c.version:
        parts.append(f"{c.version} 版")
        if c.effective_date and c.effective_date != c.version:
            parts.append(f"施行 {c.effective_date}")
    issuer = re.split(r"[《；;，,（(]", c.source, maxsplit=1)[0].strip() if c.source else ""
    if issuer and len(issuer) <= 20 and "/" not in issuer:
        parts.append(issuer)
    if c.origin == "local":
        parts.append("本机构上传")
    return f"〔{' · '.join(parts)}〕" if parts else ""


def render(answer: Answer, *, with_text: bool = True, with_disclaimer: bool = True) -> str:
    """Render an answer in the fixed format users see.

    Each 【依据】 entry reads `- 《劳动合同法》第四十七条〔2012-12-28 版〕：<verbatim text>` (a guideline:
    `- 《流行性感冒诊疗方案（2025年版）》十、治疗 > （三）抗病毒治疗：…`); `with_text=False` gives the bare
    references (what a generator writes).
    """
    lines = [f"【分类】{answer.category}", "【要点】"]
    lines += [f"{i}. {p}" for i, p in enumerate(answer.points, 1)]
    lines.append("【依据】")
    if not answer.citations:
        lines.append("（无）")
    for c in answer.citations:
        head = c.ref
        lines.append(f"- {head}{citation_meta(c)}：{c.text}" if with_text and c.text else f"- {head}")
    if with_disclaimer and answer.disclaimer:
        lines += ["", answer.disclaimer]
    return "\n".join(lines)
