"""Which reader turns a source file into docs: the format dispatcher over `knowledge.loaders` (statutes,
JSONL/CSV passages) and `knowledge.sections` (PDF/DOCX/HTML documents), and the files a folder import reads.

It sits above both reader modules so neither imports the other back (issue 15: no import circles).
"""

from __future__ import annotations

from pathlib import Path

from knowledge.documents import read_docx, read_html, read_pdf
from knowledge.errors import LoadError
from knowledge.loaders import (
    _EXT_FORMAT,
    FORMATS,
    LoadedDoc,
    detect_format,
    parse_csv,
    parse_jsonl,
    parse_statute,
    read_text,
)
from knowledge.sections import document_to_docs


def load_file(path: Path, fmt: str = "auto") -> list[LoadedDoc]:
    """Load one source file into docs (one per law/title). Raises LoadError naming file and line."""
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt not in FORMATS:
        raise LoadError(str(path), f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if fmt in ("pdf", "docx"):
        if not path.is_file():
            raise LoadError(str(path), "cannot read: no such file")
        return document_to_docs(read_pdf(path) if fmt == "pdf" else read_docx(path), path, fmt)
    try:
        text = read_text(path)
    except OSError as exc:
        raise LoadError(str(path), f"cannot read: {exc.strerror or exc}") from None
    if fmt == "html":
        return document_to_docs(read_html(path, text), path, fmt)
    if fmt in ("md", "txt"):
        return [parse_statute(text, path, fmt)]
    if fmt == "jsonl":
        return parse_jsonl(text, path)
    return parse_csv(text, path)


def iter_source_files(path: Path, fmt: str = "auto") -> list[Path]:
    """The files to import under `path` (a file or a folder, recursively), sorted for stable order."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LoadError(str(path), "no such file or folder")
    exts = set(_EXT_FORMAT) if fmt == "auto" else {e for e, f in _EXT_FORMAT.items() if f == fmt}
    return sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in exts and not p.name.startswith(".")
    )
