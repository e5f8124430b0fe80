"""Guidelines as they really come: PDF (pypdf), DOCX (python-docx) and HTML (lxml) turned into text lines.

Each reader returns `Block`s (a line of text, where it was, and a heading level when the format says so:
DOCX heading styles, HTML <h1>…<h6>). knowledge.sections turns the blocks into sections and passages.
A PDF without a text layer (a scan) is an error naming the file, never an empty import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import LoadError

DOCUMENT_FORMATS = ("pdf", "docx", "html")
_PAGE_NUMBER_RE = re.compile(r"^[-—－–\s]*(第\s*)?\d{1,4}(\s*页)?[-—－–\s]*$|^\d{1,4}\s*/\s*\d{1,4}$")
# Fewer visible characters than this per page means the PDF has no usable text layer.
_MIN_CHARS_PER_PAGE = 20


@dataclass
class Block:
    """One line of a document: its text, where it was (page or paragraph number), and a heading level given
    by the format itself (1-6), else 0."""

    text: str
    where: int
    level: int = 0
    page: int | None = None


@dataclass
class DocumentText:
    """What a reader found: the title (from metadata or the first line; may be '') and the lines."""

    title: str
    blocks: list[Block]


def _clean(text: str) -> str:
    text = text.replace("\u3000", " ").replace("\xa0", " ")
    return re.sub(r"[ \t]+", " ", text).strip()


def read_pdf(path: Path) -> DocumentText:
    """Text lines of a PDF with pypdf; page numbers kept for error messages; running page numbers dropped."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    src = str(path)
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise LoadError(src, "the PDF is password-protected; upload an unprotected copy")
            except Exception as exc:
                if isinstance(exc, LoadError):
                    raise
                raise LoadError(src, f"the PDF is encrypted and cannot be read ({exc})") from None
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = str((meta.get("/Title") if meta else None) or "").strip()
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(src, f"not a readable PDF: {exc}") from None
    if not pages:
        raise LoadError(src, "the PDF has no pages")
    visible = sum(len(re.sub(r"\s", "", p)) for p in pages)
    if visible < _MIN_CHARS_PER_PAGE * len(pages) / 4 or visible < _MIN_CHARS_PER_PAGE:
        raise LoadError(
            src,
            f"the PDF has no text layer ({len(pages)} page(s), {visible} characters of text): it looks scanned;"
            " run OCR on it or upload a text, DOCX or HTML version — nothing was imported",
        )
    blocks: list[Block] = []
    for number, text in enumerate(pages, start=1):
        for line in text.split("\n"):
            line = _clean(line)
            if line and not _PAGE_NUMBER_RE.match(line):
                blocks.append(Block(line, len(blocks) + 1, page=number))
    return DocumentText(title, blocks)


def read_docx(path: Path) -> DocumentText:
    """Paragraphs (heading styles give the level) and table rows (cells joined by ' | ') of a DOCX."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    src = str(path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise LoadError(src, f"not a readable DOCX (Word 2007+) file: {exc}") from None
    except Exception as exc:  # zipfile.BadZipFile, lxml errors: a damaged file
        raise LoadError(src, f"not a readable DOCX (Word 2007+) file: {type(exc).__name__}: {exc}") from None
    blocks: list[Block] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            from docx.text.paragraph import Paragraph

            para = Paragraph(child, document)
            text = _clean(para.text)
            if not text:
                continue
            style = (para.style.name if para.style is not None else "") or ""
            m = re.match(r"(?i)heading\s*(\d)|标题\s*(\d)", style)
            level = int(m.group(1) or m.group(2)) if m else (1 if style.lower() == "title" else 0)
            blocks.append(Block(text, len(blocks) + 1, level))
        elif tag == "tbl":
            from docx.table import Table

            for row in Table(child, document).rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = _clean(cell.text)
                    if value and (not cells or cells[-1] != value):  # merged cells repeat their text
                        cells.append(value)
                if cells:
                    blocks.append(Block(" | ".join(cells), len(blocks) + 1))
    title = (document.core_properties.title or "").strip()
    return DocumentText(title, blocks)


_HTML_BLOCKS = ("p", "li", "div", "section", "article", "blockquote", "pre", "dd", "dt", "br")
_HTML_SKIP = ("script", "style", "nav", "header", "footer", "noscript", "template", "aside", "form", "iframe")


def read_html(path: Path, text: str) -> DocumentText:
    """Visible text of an HTML page with lxml: <h1>…<h6> are headings, block elements end lines; scripts,
    styles, navigation and forms are dropped."""
    import lxml.html
    from lxml import etree

    src = str(path)
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise LoadError(src, f"not readable HTML: {exc}") from None
    for bad in root.xpath("|".join(f"//{t}" for t in _HTML_SKIP)):
        bad.drop_tree()
    title = _clean(" ".join(root.xpath("//title//text()")))
    blocks: list[Block] = []
    buffer: list[str] = []

    def flush(level: int = 0) -> None:
        line = _clean("".join(buffer))
        buffer.clear()
        if line:
            blocks.append(Block(line, len(blocks) + 1, level))

    def walk(el) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        heading = re.fullmatch(r"h([1-6])", tag)
        if heading or tag in _HTML_BLOCKS or tag == "tr":
            flush()
        if el.text and tag not in ("title", "head"):
            buffer.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                buffer.append(child.tail)
        if tag == "td" or tag == "th":
            buffer.append(" | ")
        if heading:
            flush(int(heading.group(1)))
        elif tag in _HTML_BLOCKS or tag == "tr":
            flush()

    body = root.find("body")
    walk(body if body is not None else root)
    flush()
    for b in blocks:
        b.text = b.text.strip(" |")
    return DocumentText(title, [b for b in blocks if b.text])
