"""From document lines to citable units: headings (一、 （一） 1. （1） 第X章, or the format's own heading styles)
become section paths, body text becomes passages of sensible length under them. A document whose body is
articles (第X条) is read as a statute instead, one passage per article.
"""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.classify import guess_kind
from knowledge.documents import Block, DocumentText
from knowledge.errors import LoadError
from knowledge.loaders import _ARTICLE_RE, Article, LoadedDoc, normalize_date, parse_statute, short_law_name
from knowledge.numerals import CN_NUM_CHARS

MAX_PASSAGE_CHARS = 700  # the official guideline passages run 140–800 characters (median ~390)
MIN_PASSAGE_CHARS = 120
MAX_HEADING_CHARS = 40
_CN = "一二三四五六七八九十百零〇"
_HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^第[{CN_NUM_CHARS}0-9]+[章篇部分]")),
    (1, re.compile(rf"^[{_CN}]+、\s*\S")),
    (2, re.compile(rf"^第[{CN_NUM_CHARS}0-9]+节")),
    (2, re.compile(rf"^[（(][{_CN}]+[）)]\s*\S")),
    (3, re.compile(r"^\d{1,2}\s*[.．、](?!\d)\s*\S")),
    (4, re.compile(r"^[（(]\d{1,2}[）)]\s*\S")),
)
_SENTENCE_END = "。！？；!?;…"
_WRAP_END = _SENTENCE_END + "：:”」』）)"
_EFFECTIVE_RE = re.compile(r"(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*起?\s*(施行|实施|执行)")


def heading_level(block: Block) -> int:
    """The heading level of a line (1 = 一、/第X章, 2 = （一）, 3 = 1., 4 = （1）; the format's own level
    first), 0 for body text. A numbered line that reads as a sentence is body text, not a heading."""
    if block.level:
        return block.level
    text = block.text
    if len(text) > MAX_HEADING_CHARS or text.endswith(tuple(_SENTENCE_END)):
        return 0
    for level, pattern in _HEADING_PATTERNS:
        if pattern.match(text):
            return level
    return 0


def _join_wrapped(blocks: list[Block]) -> list[Block]:
    """PDF lines break where the page did, not where sentences do: join a line to the previous one unless
    the previous ended a sentence or either is a heading or an article."""
    out: list[Block] = []
    for b in blocks:
        prev = out[-1] if out else None
        if (
            prev is not None
            and b.page is not None
            and not prev.text.endswith(tuple(_WRAP_END))
            and not heading_level(prev)
            and not heading_level(b)
            and not _ARTICLE_RE.match(b.text)
        ):
            prev.text += b.text
            continue
        out.append(Block(b.text, b.where, b.level, b.page))
    return out


def _looks_like_title(text: str) -> bool:
    return 4 <= len(text) <= 80 and bool(re.search(r"[\u4e00-\u9fff]", text)) and not _ARTICLE_RE.match(text)


def _pick_title(doc: DocumentText, blocks: list[Block], path: Path) -> tuple[str, list[Block]]:
    """The document title and the blocks after it: the first line when it reads as a title (or the first
    format-level heading), else the metadata title, else the file name."""
    if blocks and _looks_like_title(blocks[0].text) and heading_level(Block(blocks[0].text, 0)) == 0:
        return blocks[0].text, blocks[1:]
    first_h = next((b for b in blocks[:5] if b.level == 1), None)
    if first_h is not None and _looks_like_title(first_h.text):
        return first_h.text, [b for b in blocks if b is not first_h]
    meta = re.split(r"\s[-_|—]\s", doc.title)[0].strip() if doc.title else ""
    if _looks_like_title(meta) and not meta.lower().startswith("microsoft"):
        return meta, blocks
    return re.sub(r"\(\d{4}-\d{2}-\d{2}\)$", "", path.stem).strip() or path.stem, blocks


def _effective_date(blocks: list[Block]) -> str:
    for b in blocks[:20] + blocks[-15:]:
        m = _EFFECTIVE_RE.search(b.text)
        if m:
            try:
                return normalize_date(m.group(1).replace(" ", ""))
            except ValueError:
                continue
    return ""


def _split_long(text: str, limit: int) -> list[str]:
    """Cut a paragraph longer than `limit` at sentence ends (or hard, when a sentence is longer still)."""
    if len(text) <= limit:
        return [text]
    parts = re.split(rf"(?<=[{_SENTENCE_END}])", text)
    chunks: list[str] = []
    for part in parts:
        while len(part) > limit:
            chunks.append(part[:limit])
            part = part[limit:]
        if chunks and len(chunks[-1]) + len(part) <= limit:
            chunks[-1] += part
        elif part:
            chunks.append(part)
    return chunks


def _statute_like(blocks: list[Block]) -> bool:
    articles = sum(1 for b in blocks if _ARTICLE_RE.match(b.text))
    return articles >= 3 and articles * 4 >= sum(1 for b in blocks if not heading_level(b)) / 2


def document_to_docs(
    doc: DocumentText, path: Path, fmt: str, max_chars: int = MAX_PASSAGE_CHARS
) -> list[LoadedDoc]:
    """Turn a document's lines into one LoadedDoc: a statute (one passage per 第X条) or a guideline (passages
    of at most `max_chars` under their heading path). Raises LoadError naming the file when nothing usable
    is found."""
    src = str(path)
    blocks = _join_wrapped(doc.blocks)
    if not blocks:
        raise LoadError(src, "no text found in the document")
    title, body = _pick_title(doc, blocks, path)
    if _statute_like(body):
        text = "\n".join([title] + [b.text for b in body])
        statute = parse_statute(text, path, "txt")
        statute.fmt = fmt
        return [statute]
    kind = guess_kind(title)
    effective = _effective_date(body)
    loaded = LoadedDoc(
        law=short_law_name(title),
        law_full=title,
        version=effective,
        source=src,
        fmt=fmt,
        kind=kind if kind != "其他" else "指南",
        effective_date=effective,
    )
    path_stack: list[tuple[int, str]] = []
    current: list[str] = []
    first_line: int | None = None

    def section() -> str:
        return " > ".join(h for _, h in path_stack)

    def flush() -> None:
        nonlocal first_line
        text = "\n".join(current).strip()
        current.clear()
        if text:
            sec = section()
            loaded.articles.append(
                Article(
                    article_no=None,
                    article_label="",
                    text=text,
                    chapter=sec,
                    line=first_line,
                    key=f"p{len(loaded.articles) + 1}",
                    section=sec,
                    sections=[sec] if sec else [],
                )
            )
        first_line = None

    for b in body:
        level = heading_level(b)
        if level:
            flush()
            path_stack = [(lv, h) for lv, h in path_stack if lv < level] + [(level, b.text)]
            continue
        for piece in _split_long(b.text, max_chars):
            size = sum(len(x) + 1 for x in current)
            if current and size + len(piece) > max_chars and size >= MIN_PASSAGE_CHARS:
                flush()
            if first_line is None:
                first_line = b.where
            current.append(piece)
    flush()
    if not loaded.articles:
        raise LoadError(src, "no passages found: the document has headings but no text under them")
    return [loaded]
