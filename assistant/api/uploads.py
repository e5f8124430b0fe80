"""Checks on uploaded knowledge files before anything is written: name, type, size and content.

Refused: path separators / traversal / hidden or control-character names, unknown extensions,
archives (by extension or magic bytes), binary content (NUL bytes, undecodable or control-heavy
text), empty and oversized files. A refused upload stores nothing.
"""

from __future__ import annotations

import shutil
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from knowledge.errors import YijuError

TEXT_SUFFIXES: frozenset[str] = frozenset({".md", ".markdown", ".txt", ".jsonl", ".csv", ".html", ".htm"})
# Guideline documents: checked by their own structure below, never by the text checks.
DOCUMENT_SUFFIXES: frozenset[str] = frozenset({".pdf", ".docx"})
ALLOWED_SUFFIXES: frozenset[str] = TEXT_SUFFIXES | DOCUMENT_SUFFIXES
ARCHIVE_SUFFIXES: frozenset[str] = frozenset(
    {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".lz", ".jar", ".xlsx"}
)
# A DOCX is a zip: its parts may unpack to at most this many times the upload limit, and never to more
# than DOCX_MAX_UNPACKED bytes (zip-bomb guard: the reader holds the XML in memory).
DOCX_MAX_EXPANSION = 20
DOCX_MAX_UNPACKED = 64 * 1024 * 1024
DOCX_MAX_PARTS = 2000
# Leading bytes of archive/compressed formats: refused even when renamed to .md.
ARCHIVE_MAGIC: tuple[bytes, ...] = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x1f\x8b",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",
)
MAX_NAME_CHARS = 200
MAX_FILES_PER_UPLOAD = 500


class UploadRejected(YijuError):
    """An upload that must be refused; `status` is the HTTP status to answer with."""

    def __init__(self, filename: str, message: str, status: int = 400) -> None:
        super().__init__(f"{filename!r}: {message}")
        self.filename = filename
        self.status = status


def check_filename(raw: str | None) -> str:
    """Return the validated bare file name, or raise UploadRejected."""
    name = (raw or "").strip()
    if not name:
        raise UploadRejected("", "a file name is required")
    if len(name) > MAX_NAME_CHARS:
        raise UploadRejected(name[:40] + "…", f"file name longer than {MAX_NAME_CHARS} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise UploadRejected(name, "file name contains control characters")
    if "/" in name or "\\" in name or name in (".", "..") or ".." in PurePosixPath(name).parts:
        raise UploadRejected(name, "file name must not contain a path (/, \\ or ..)")
    if name.startswith("."):
        raise UploadRejected(name, "hidden file names (starting with .) are not accepted")
    suffixes = [s.lower() for s in PurePosixPath(name).suffixes]
    if any(s in ARCHIVE_SUFFIXES for s in suffixes):
        raise UploadRejected(name, "archives are not accepted; upload the files themselves", 415)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UploadRejected(
            name,
            f"file type {suffix or '(none)'} not accepted; use one of {', '.join(sorted(ALLOWED_SUFFIXES))}",
            415,
        )
    return name


def _check_document(name: str, suffix: str, data: bytes, max_bytes: int) -> None:
    """A .pdf must be a PDF; a .docx must be a Word document (a zip holding word/document.xml) whose parts
    do not unpack to more than DOCX_MAX_EXPANSION times the upload limit."""
    if suffix == ".pdf":
        if b"%PDF-" not in data[:1024]:
            raise UploadRejected(name, "file content is not a PDF", 415)
        return
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            unpacked = sum(i.file_size for i in infos)
    except zipfile.BadZipFile:
        raise UploadRejected(name, "file content is not a Word (.docx) document", 415) from None
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise UploadRejected(name, "file content is a zip but not a Word (.docx) document", 415)
    if len(infos) > DOCX_MAX_PARTS or unpacked > min(DOCX_MAX_EXPANSION * max_bytes, DOCX_MAX_UNPACKED):
        raise UploadRejected(name, "the document unpacks to too much data (zip bomb?)", 413)


def check_content(name: str, data: bytes, max_bytes: int) -> None:
    """Raise UploadRejected unless `data` is non-empty text (or a real PDF/DOCX) of at most `max_bytes`."""
    if len(data) > max_bytes:
        raise UploadRejected(name, f"file is {len(data)} bytes, over the {max_bytes}-byte limit", 413)
    if not data.strip():
        raise UploadRejected(name, "file is empty")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in DOCUMENT_SUFFIXES:
        _check_document(name, suffix, data, max_bytes)
        return
    if data.startswith(ARCHIVE_MAGIC) or data[257:262] == b"ustar":
        raise UploadRejected(name, "file content is an archive; upload the text files themselves", 415)
    if b"\x00" in data:
        raise UploadRejected(name, "file content is binary (NUL bytes), not text", 415)
    text = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise UploadRejected(name, "file content is not UTF-8 or GB18030 text", 415)
    control = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f")
    if control > max(2, len(text) // 200):
        raise UploadRejected(name, "file content looks binary (too many control characters)", 415)


def import_uploads(
    services: Any,
    files: Sequence[tuple[str | None, bytes]],
    *,
    domain: str = "auto",
    strict: bool = False,
    on_progress: Callable[[int, int, str], None] | None = None,
    uploader: str = "",
) -> dict[str, Any]:
    """Check every (name, bytes) first, then import them into the KB one file at a time.

    Shared by the HTTP upload and the Gradio knowledge screen. Raises UploadRejected before anything
    is written. Returns the summed ImportReport as a dict, with errors naming the uploaded file.
    Uploads are recorded as `local` text with `uploader` (the key's name) and the file's own name: they
    never replace official text (knowledge.ingest), and uploading a file again replaces that upload.
    """
    limit = services.config.server.max_upload_bytes
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise UploadRejected("", f"at most {MAX_FILES_PER_UPLOAD} files per upload")
    checked: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    total = 0
    for raw_name, data in files:
        name = check_filename(raw_name)
        if name in seen:
            raise UploadRejected(name, "the same file name appears twice in one upload")
        seen.add(name)
        check_content(name, data, limit)
        total += len(data)
        if total > limit:
            raise UploadRejected(name, f"upload totals over the {limit}-byte limit", 413)
        checked.append((name, data))

    summary: dict[str, Any] = {
        "files_imported": 0,
        "files_skipped": 0,
        "articles_added": 0,
        "articles_updated": 0,
        "articles_unchanged": 0,
        "errors": [],
    }
    target = Path(services.home) / "uploads" / uuid.uuid4().hex
    target.mkdir(parents=True)
    try:
        with services.import_lock:
            kb = services.kb()
            for i, (name, data) in enumerate(checked):
                if on_progress:
                    on_progress(i, len(checked), name)
                path = target / name
                path.write_bytes(data)
                report = kb.import_path(
                    path,
                    domain=domain,
                    strict=strict,
                    progress=False,
                    origin="local",
                    uploader=uploader,
                    source_name=name,
                )
                part = report.model_dump(mode="json") if hasattr(report, "model_dump") else dict(report)
                for key in summary:
                    if key == "errors":
                        for issue in part.get("errors", []):
                            issue["file"] = (
                                name if str(issue.get("file", "")).endswith(name) else issue.get("file")
                            )
                            summary["errors"].append(issue)
                    else:
                        summary[key] += int(part.get(key, 0))
            if on_progress:
                on_progress(len(checked), len(checked), "done")
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return summary
