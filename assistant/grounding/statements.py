"""Passages cut into statements a key point can quote: whole sentences, list items joined to their lead-in,
each with the 款/项 it is (第（五）项, 第二款) so a point can cite exactly the clause that answers.

Guideline text comes from PDF extraction: stray spaces inside Chinese text are joined, heading lines and
table debris (rows of numbers, print footers) never become statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.numerals import ARTICLE_PREFIX_RE, int_to_cn
from knowledge.types import Passage

_SENTENCE_END = re.compile(r"(?<=[。！？!?])")
_CLAUSE_END = re.compile(r"(?<=[；;])")
_LIST_ITEM = re.compile(r"^\s*[（(]([一二三四五六七八九十]+)[)）]\s*")
_LEAD_IN = re.compile(r"[：:]\s*$")
# A guideline heading on its own line: 四、临床表现 / （一）临床诊断病例 / 1.抗病毒治疗原则 / 诊断 (short, no sentence).
_HEADING_LINE = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]|\d{1,2}\s*[.．、](?!\d)|第[一二三四五六七八九十\d]+[章节篇])?"
    r"[^。；;，,：:]{1,24}$"
)
_CJK = r"\u4e00-\u9fff"
_PUNCT = "，。；：、！？（）《》“”％%～~"
# Spaces a PDF left between Chinese characters, digits and full-width punctuation (5 米 → 5米).
_STRAY_SPACE = re.compile(rf"(?<=[{_CJK}\d{_PUNCT}])[ \t\u3000]+(?=[{_CJK}\d{_PUNCT}])")
_SPACE_IN_PARENS = re.compile(r"(?<=[（(])\s+|\s+(?=[）),，。；])")
# "（六）法律、行政法规规定劳动者可以解除劳动合同的其他情形" / "…的其他行为的": a catch-all list item.
_CATCH_ALL = re.compile(r"其他[^，,。；;：:]{0,30}(?:情形|的)$")


@dataclass(frozen=True)
class Statement:
    """One quotable statement of a passage."""

    text: str
    pos: int  # order within the passage
    clause: str = (
        ""  # 第（五）项 / 第二款 / 第一款第（五）项; '' when it is the whole of a one-paragraph article
    )
    lead: str = ""  # for a list item: its lead-in (有下列情形之一的，用人单位应当向劳动者支付经济补偿)
    item: str = ""  # for a list item: the item alone
    section: str = ""  # guidelines: the heading path the statement sits under (a passage can span several)

    @property
    def catch_all(self) -> bool:
        """True for a list's "other cases" item (其他情形)."""
        return bool(_CATCH_ALL.search((self.item or self.text).rstrip("；;。，, ")))


def clean_text(text: str) -> str:
    """Join stray PDF spaces inside Chinese text; keep spaces between Latin words."""
    text = _STRAY_SPACE.sub("", text)
    return _SPACE_IN_PARENS.sub("", text)


# A web page's footer carried into the text (网站地图 … 版权所有 … ICP备案).
_FOOTER = re.compile(r"版权所有|ICP备|网站地图|技术支持[:：]")
# Numbers the PDF extraction lost: 「潜伏期 ~ 天」「作用~分钟」「、℃ 分钟」 — a range or unit with no number.
_LOST_NUMBER = re.compile(
    r"(?<![\d.])\s*[~～]\s*(?![\d.])|(?<![\d.\s])\s*℃|[~～]\s*(?:分钟|小时|天|周|月|年)(?<!\d)"
)


# 「表4破伤风疫苗和被动免疫制剂的使用既往 TTCV…」: a table's caption and its flattened cells.
_TABLE_CAPTION = re.compile(r"^表\s*\d+")
# 「高风险）」: the tail of a table cell or a broken line — it opens with closing punctuation or is too short.
_FRAGMENT = re.compile(r"^(?:[）)\]」』，,。；;、：:]|[^，。；]{0,5}$)")


def is_debris(sentence: str) -> bool:
    """True for flattened tables and print residue: mostly numbers, table captions, 印发/校对 footers, a
    web page's footer, and sentences whose numbers the PDF extraction lost (「潜伏期 ~ 天」)."""
    s = sentence.strip()
    if re.search(r"表\s*\d+-\d+|校对[:：]|印发\s*$", s) or _FOOTER.search(s) or _LOST_NUMBER.search(s):
        return True
    if _TABLE_CAPTION.match(s) or _FRAGMENT.match(s):
        return True
    numbers = re.findall(r"\d+(?:\.\d+)?", s)
    digits = sum(len(n) for n in numbers)
    return len(numbers) >= 6 and digits / max(len(s), 1) > 0.2


# A key point quoted alone: its list number (1. / （5） / ①) and a connective that points back (因此，) go.
_POINT_NUMBER = re.compile(
    r"^\s*(?:\d{1,3}\s*[.．、](?!\d)|[（(]\d{1,2}[)）]|[①-⑳]|[（(][一二三四五六七八九十]+[)）])\s*"
)
_HEADED_NUMBER = re.compile(
    r"^([^，。；：:]{1,12}[：:])\s*(?:\d{1,2}\s*[.．、](?!\d)|[（(]\d{1,2}[)）]|[①-⑳])\s*"
)
_BACK_REFERENCE = re.compile(r"^(?:因此|所以|此外|另外|同时|故)[，,]\s*")


def readable_point(text: str) -> str:
    """A guideline statement as a key point reads on its own: no list number, no leading 因此/此外."""
    out = _BACK_REFERENCE.sub("", _POINT_NUMBER.sub("", text.strip()))
    out = _HEADED_NUMBER.sub(r"\1", out)  # 儿童：1.呼吸频率增快 → 儿童：呼吸频率增快
    return out or text


# A sentence opening with a connective continues the one before (…。但是，…的效力不受影响。).
_CONTINUATION = re.compile(r"^(?:但是|但|并且|并|且|同时|其中|此外|否则|不过|对于前款|前款)")


def _sentences(line: str, max_chars: int) -> list[str]:
    out: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE_END.split(line) if s.strip()):
        if out and _CONTINUATION.match(sentence):
            out[-1] += sentence
            continue
        out.append(sentence)
    cut: list[str] = []
    for sentence in out:
        if len(sentence) <= max_chars:
            cut.append(sentence)
        else:  # too long to read as one point: cut at ；, never inside a clause
            cut.extend(c.strip() for c in _CLAUSE_END.split(sentence) if c.strip())
    return cut


_NUMBERING = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d{1,2}\s*[.．、](?!\d)|第[一二三四五六七八九十\d]+[章节篇])\s*"
)


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _heading_path(line: str, paths: list[str], current: str) -> str:
    """The heading path (of the passage's `sections`) a heading line opens; `current` when none matches."""
    key = _norm(line)
    for path in paths:
        last = _norm(path.split(">")[-1])
        if last == key or last.startswith(key) or key.startswith(last):
            return path
    return current


def _heading_of(line: str, paths: list[str]) -> bool:
    """Whether a line is one of the passage's own section headings (1.抗病毒治疗原则), not a list item."""
    return _heading_path(line, paths, "") != ""


def _clause(paragraph: int, paragraphs: int, item: str = "") -> str:
    para = f"第{int_to_cn(paragraph)}款" if paragraphs > 1 else ""
    return para + (f"第（{item}）项" if item else "")


# A guideline's numbered sub-item inside a line (「…缓慢拔出；2.如蜱的口器…」, 「；（3）…」, 「。②…」): each item is a
# statement of its own, not run together with the one before.
_INLINE_ITEM = re.compile(r"(?<=[；;。])\s*(?=(?:\d{1,2}\s*[.．、](?![\d.．])|[（(]\d{1,2}[)）]|[①-⑳]))")
_GUIDE_ITEM = re.compile(r"^\s*(?:\d{1,2}\s*[.．、](?![\d.．])|[（(]\d{1,2}[)）]|[①-⑳])\s*")


def _guideline_lines(text: str) -> list[str]:
    """A guideline's lines, a line holding several numbered sub-items cut before each of them."""
    out: list[str] = []
    for ln in text.splitlines():
        out.extend(part.strip() for part in _INLINE_ITEM.split(ln) if part.strip())
    return out


def statements(p: Passage, max_chars: int = 160) -> list[Statement]:
    """The statements of a passage, in order (heading lines and table debris of guidelines left out).

    A guideline statement knows the heading path it sits under; a short fragment right after a short
    heading is read with it (（一）潜伏期 / 多为2～10天 → 潜伏期：多为2～10天)."""
    guideline = p.article_no is None
    text = ARTICLE_PREFIX_RE.sub("", p.text.strip())
    if guideline:
        text = clean_text(text)
    own = str(getattr(p, "section", "") or "")
    paths = [x for x in (getattr(p, "sections", None) or []) if x] if guideline else []
    lines = _guideline_lines(text) if guideline else [ln.strip() for ln in text.splitlines() if ln.strip()]
    paragraphs = sum(1 for ln in lines if not _LIST_ITEM.match(ln)) if not guideline else 1
    out: list[Statement] = []
    lead = ""
    paragraph = 0
    section = own
    heading = ""  # the short heading just read, for the fragment that follows it
    for line in lines:
        m = _LIST_ITEM.match(line)
        if m and lead:
            item = _LIST_ITEM.sub("", line).rstrip("；;。，,")
            clause = "" if guideline else _clause(paragraph, paragraphs, m.group(1))
            out.append(
                Statement(f"{lead}：{item}", len(out), clause, lead, item, section if guideline else "")
            )
            continue
        item_m = _GUIDE_ITEM.match(line) if guideline and lead else None
        if item_m and not _heading_of(line, paths):
            # 「下列指标提示…：」 then 「1.持续高热…；」: the item is read with its lead-in
            item = line[item_m.end() :].rstrip("；;。，,")
            if item and not is_debris(item):
                # (lead/item fields stay empty: the composer quotes a statute's whole list from them)
                out.append(Statement(f"{lead}：{item}", len(out), section=section))
            continue
        if guideline and _HEADING_LINE.match(line):
            lead = ""
            section = _heading_path(line, paths, section)
            bare = _NUMBERING.sub("", line).strip()
            heading = bare if len(bare) <= 10 else ""
            continue  # a heading is not a statement (the citation names the section)
        paragraph += 0 if m else 1
        lead = ""
        sentences = _sentences(line, max_chars)
        if sentences and _LEAD_IN.search(sentences[-1]):
            lead = _LEAD_IN.sub("", sentences[-1]).strip()
            sentences = sentences[:-1]
        clause = "" if guideline else _clause(paragraph, paragraphs)
        for i, sentence in enumerate(sentences):
            if guideline and is_debris(sentence):
                continue
            if i == 0 and heading and len(sentence) < 40 and heading not in sentence:
                sentence = f"{heading}：{sentence}"
            out.append(Statement(sentence, len(out), clause, section=section if guideline else ""))
        heading = ""
    return out
