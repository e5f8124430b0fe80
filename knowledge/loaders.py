"""Source loaders: statute markdown / text split per article (第X条), and JSONL/CSV passages.

One chunk = one article. Every loader returns `LoadedDoc`s (one per law/title in the file) and raises
`LoadError` naming the file and line for input it cannot use.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.classify import (  # noqa: F401  (guess_domain and the keyword lists were defined here before)
    MEDICAL_EXCLUSIONS,
    MEDICAL_KEYWORDS,
    guess_domain,
    guess_kind,
    kind_for_path,
    normalize_kind,
)
from knowledge.errors import LoadError
from knowledge.numerals import CN_NUM_CHARS, cn_to_int
from knowledge.types import article_key

FORMATS = ("md", "txt", "jsonl", "csv", "pdf", "docx", "html")
_EXT_FORMAT = {
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".jsonl": "jsonl",
    ".csv": "csv",
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
}
_PREFIXES = ("中华人民共和国",)
_ARTICLE_RE = re.compile(
    rf"^第([{CN_NUM_CHARS}0-9０-９]+)条(之[一二三四五六七八九十]+)?(?:[\s\u3000]+|$)(.*)$", re.S
)
_HEADING_RE = re.compile(r"^(#{1,6})\s*(.*)$")
_DATE_CN_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DATE_FILE_RE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)")
_DATE_ISO_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


@dataclass
class Article:
    """One article as parsed from a source file."""

    article_no: int | None
    article_label: str
    text: str
    chapter: str = ""
    line: int | None = None
    key: str = ""  # unique within the law version: "47", "120-1" (第一百二十条之一), "p3" (free passage)
    summary: str = ""  # plain-language point (starter KB passages)
    section: str = ""  # guidelines: heading path joined by " > " (the citation unit)
    sections: list[str] = field(
        default_factory=list
    )  # guidelines: every heading path it covers, source order

    @property
    def content_hash(self) -> str:
        """sha256 of the verbatim text (what the manifest compares on re-import)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass
class LoadedDoc:
    """All articles of one law (one version) found in one source file."""

    law: str
    law_full: str
    version: str
    source: str
    fmt: str
    articles: list[Article] = field(default_factory=list)
    source_hint: str = ""  # optional `source` column of passages (issuing body, official URL)
    domain: str = ""  # optional `domain` column of passages ('' = decided by the importer)
    sample: bool = False  # optional `sample` column: part of the packaged starter KB
    kind: str = (
        ""  # 法律, 行政法规, 司法解释, 指南 … (knowledge.classify.KINDS); '' = guessed by the importer
    )
    effective_date: str = ""  # YYYY-MM-DD when known


def short_law_name(title: str) -> str:
    """中华人民共和国劳动合同法, 《劳动合同法》, 《中华人民共和国劳动合同法》 -> 劳动合同法 (the short name used in
    citations and look-ups; a name typed with book-title marks finds the law too)."""
    name = re.sub(r"\s+", "", title.strip())
    if name.startswith(("《", "<")) and name.endswith(("》", ">")) and len(name) > 2:
        name = name[1:-1]
    for prefix in _PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix) :]
    return name


def detect_format(path: Path) -> str:
    """md | txt | jsonl | csv from the file extension; raises LoadError for anything else."""
    fmt = _EXT_FORMAT.get(path.suffix.lower())
    if fmt is None:
        raise LoadError(
            str(path),
            f"unknown file type {path.suffix!r} (expected .md, .txt, .jsonl, .csv, .pdf, .docx or .html)",
        )
    return fmt


def read_text(path: Path) -> str:
    """Read a text file in UTF-8 (with or without BOM) or, detected by charset-normalizer, GBK and others."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode_detected(path, data)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_detected(path: Path, data: bytes) -> str:
    # Chinese files that are not UTF-8 are nearly always GB18030/GBK; try that first because
    # charset-normalizer can misjudge short texts.
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError(str(path), "cannot detect the text encoding (not UTF-8 or GBK; binary file?)", 1)
    return str(best)


def version_from_filename(path: Path) -> str:
    """'劳动合同法(2012-12-28).md' -> '2012-12-28', else ''."""
    m = _DATE_FILE_RE.search(path.name)
    return m.group(1) if m else ""


def version_from_lines(lines: list[str]) -> str:
    """Latest adoption/amendment date in the promulgation lines ('2012年12月28日 …修正'); '' if none.

    Dates of lines that only say when the law takes effect (施行) count only when nothing else is dated.
    """
    dated: list[str] = []
    effective: list[str] = []
    for line in lines:
        for y, m, d in _DATE_CN_RE.findall(line):
            iso = f"{int(y):04d}-{int(m):02d}-{int(d):02d}"
            (effective if "施行" in line and "通过" not in line else dated).append(iso)
    pool = dated or effective
    return max(pool) if pool else ""


def normalize_date(value: str) -> str:
    """Accept YYYY-MM-DD, YYYY/M/D or 2012年12月28日; return YYYY-MM-DD or raise ValueError."""
    value = value.strip()
    m = _DATE_ISO_RE.match(value) or _DATE_CN_RE.search(value)
    if not m:
        raise ValueError(f"not a date: {value!r}")
    y, mo, d = (int(x) for x in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        raise ValueError(f"not a date: {value!r}")
    return f"{y:04d}-{mo:02d}-{d:02d}"


def _article_key(no: int, suffix: str | None) -> str:
    """'之一' -> the key '120-1' (knowledge.types.article_key)."""
    return article_key(no, cn_to_int(suffix[1:]) if suffix else 0)


def parse_statute(text: str, path: Path, fmt: str = "md") -> LoadedDoc:
    """Split statute text (markdown or plain) into articles.

    Markdown: `# title` (a second `#` line such as `# 合同编` is a part of the code), promulgation lines,
    optional `<!-- INFO END -->`, `##`/`###` headings (chapters, sections), then paragraphs beginning
    `第X条`; following paragraphs belong to the same article until the next article or heading.
    Plain text: the first non-empty line is the title; chapter lines look like `第一章 总则`.
    """
    src = str(path)
    lines = text.split("\n")
    if not any(line.strip() for line in lines):
        raise LoadError(src, "empty file", 1)
    title = ""
    part = ""
    header_lines: list[str] = []
    in_header = True
    headings: dict[int, str] = {}
    articles: list[Article] = []
    current: Article | None = None
    seen: dict[str, int] = {}
    paragraphs: list[str] = []
    loose: list[tuple[int, str, str]] = []  # (line, chapter, text) of body paragraphs outside any article

    def flush() -> None:
        nonlocal current, paragraphs
        if current is not None:
            current.text = "\n".join(p for p in paragraphs if p)
            if not current.text.strip():
                raise LoadError(src, f"article {current.article_label} has no text", current.line)
            articles.append(current)
        current, paragraphs = None, []

    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip().strip("\u3000").strip()
        if not line:
            continue
        if line.startswith("<!--"):
            if "INFO END" in line:
                in_header = False
            continue
        heading = _HEADING_RE.match(line) if fmt == "md" else None
        if heading is None and fmt == "txt" and re.match(rf"^第[{CN_NUM_CHARS}0-9]+[编分章节]", line):
            level = 2 if re.match(rf"^第[{CN_NUM_CHARS}0-9]+[编分章]", line) else 3
            heading = re.match(r"^()(.*)$", line)
            heading_level = level
        elif heading is not None:
            heading_level = len(heading.group(1))
        if heading is not None:
            label = re.sub(r"\s+", " ", heading.group(2)).strip()
            if fmt == "md" and heading_level == 1:
                if not title:
                    title = label
                elif current is None and not articles:
                    part = label  # 民法典: '# 合同编' under '# 中华人民共和国民法典'
                else:
                    part = label
                continue
            flush()
            in_header = False
            headings = {lv: h for lv, h in headings.items() if lv < heading_level}
            if label:
                headings[heading_level] = label
            continue
        if fmt == "txt" and not title:
            title = line
            continue
        m = _ARTICLE_RE.match(line)
        if m:
            try:
                no = cn_to_int(m.group(1))
                key = _article_key(no, m.group(2))
            except ValueError:
                m = None
        if m:
            flush()
            in_header = False
            label = f"第{m.group(1)}条{m.group(2) or ''}"
            if key in seen:
                raise LoadError(src, f"duplicate article {label} (first at line {seen[key]})", lineno)
            seen[key] = lineno
            chapter = " ".join(
                [part] + [headings[lv] for lv in sorted(headings)]
                if part
                else [headings[lv] for lv in sorted(headings)]
            )
            current = Article(
                article_no=no, article_label=label, text="", chapter=chapter, line=lineno, key=key
            )
            body = m.group(3).strip()
            paragraphs = [body] if body else []
            continue
        if current is not None:
            paragraphs.append(line)
        elif in_header:
            header_lines.append(line)
        else:
            # a preamble (skipped when the file has articles) or the items of an amendment (一、…)
            loose.append((lineno, " ".join([part] + [headings[lv] for lv in sorted(headings)]).strip(), line))
    flush()
    if not articles and loose:
        articles = _loose_items(loose)
    if fmt == "md" and not title:
        raise LoadError(src, "malformed statute markdown: no '# title' line", 1)
    if not articles:
        raise LoadError(src, "no articles found (expected paragraphs beginning 第X条)", None)
    version = version_from_filename(path) or version_from_lines(header_lines)
    return LoadedDoc(
        law=short_law_name(title),
        law_full=title,
        version=version,
        source=src,
        fmt=fmt,
        articles=articles,
        kind=kind_for_path(path, title),
        effective_date=version,
    )


_ITEM_RE = re.compile(rf"^([{CN_NUM_CHARS}]+)、")


def _loose_items(loose: list[tuple[int, str, str]]) -> list[Article]:
    """Files without 第X条 (amendments, decisions): one passage per numbered item (一、…) or paragraph."""
    items: list[Article] = []
    numbered = any(_ITEM_RE.match(t) for _, _, t in loose)
    for lineno, chapter, text in loose:
        m = _ITEM_RE.match(text)
        if numbered and not m and items:
            items[-1].text += "\n" + text  # continuation paragraph of the current item
            continue
        label = f"{m.group(1)}、" if m else ""
        key = f"p{len(items) + 1}"
        items.append(
            Article(article_no=None, article_label=label, text=text, chapter=chapter, line=lineno, key=key)
        )
    return items


_REQUIRED = ("title", "text")


def _passage_docs(rows: list[tuple[int, dict]], path: Path, fmt: str) -> list[LoadedDoc]:
    """Group passage rows by (title, effective_date) into docs; validates every field with its line."""
    src = str(path)
    docs: dict[tuple[str, str], LoadedDoc] = {}
    for lineno, row in rows:
        missing = [c for c in _REQUIRED if not str(row.get(c) or "").strip()]
        if missing:
            raise LoadError(src, f"missing required field(s) {', '.join(missing)}", lineno)
        title = str(row["title"]).strip()
        version = ""
        if str(row.get("effective_date") or "").strip():
            try:
                version = normalize_date(str(row["effective_date"]))
            except ValueError as exc:
                raise LoadError(src, f"field effective_date: {exc}", lineno) from None
        doc = docs.setdefault(
            (title, version),
            LoadedDoc(
                law=short_law_name(title),
                law_full=title,
                version=version,
                source=src,
                fmt=fmt,
                effective_date=version,
            ),
        )
        if str(row.get("kind") or "").strip():
            try:
                kind = normalize_kind(str(row["kind"]))
            except ValueError as exc:
                raise LoadError(src, f"field kind: {exc}", lineno) from None
            if doc.kind and doc.kind != kind:
                raise LoadError(src, f"field kind: {kind} here but {doc.kind} earlier for {title!r}", lineno)
            doc.kind = kind
        section, sections = _section_fields(row, src, lineno)
        raw_no = row.get("article_no")
        no: int | None = None
        if raw_no is not None and str(raw_no).strip() != "":
            try:
                no = int(raw_no) if isinstance(raw_no, int) else cn_to_int(str(raw_no).strip().strip("第条"))
            except ValueError:
                raise LoadError(src, f"field article_no: not a number: {raw_no!r}", lineno) from None
        key = str(no) if no is not None else f"p{len(doc.articles) + 1}"
        if any(a.key == key for a in doc.articles):
            raise LoadError(src, f"duplicate article_no {no} for {title!r}", lineno)
        label = f"第{raw_no}条" if no is not None and not str(raw_no).startswith("第") else str(raw_no or "")
        if no is not None:
            from knowledge.numerals import int_to_cn

            label = f"第{int_to_cn(no)}条" if 0 < no < 10000 else f"第{no}条"
        doc.articles.append(
            Article(
                article_no=no,
                article_label=label,
                text=str(row["text"]).strip(),
                chapter=str(row.get("chapter") or "").strip(),
                line=lineno,
                key=key,
                summary=str(row.get("summary") or "").strip(),
                section=section,
                sections=sections,
            )
        )
        if str(row.get("domain") or "").strip():
            doc.domain = str(row["domain"]).strip()
        if str(row.get("sample") or "").strip().lower() in ("true", "1", "yes"):
            doc.sample = True
        if row.get("source"):
            doc.source_hint = str(row["source"])
    if not docs:
        raise LoadError(src, "no passages found", None)
    for doc in docs.values():
        doc.kind = doc.kind or guess_kind(doc.law_full)
    return list(docs.values())


def _section_fields(row: dict, src: str, lineno: int) -> tuple[str, list[str]]:
    """(section, sections) of a passage row. `section` is the heading path joined by ' > '; `sections` lists
    every heading path the passage covers — given as paths ('四、治疗 > （一）…') or as one path's parts."""
    raw = row.get("sections")
    if isinstance(raw, str) and raw.strip().startswith("["):  # CSV: a JSON list in a cell
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise LoadError(src, "field sections: not a JSON list of headings", lineno) from None
    if raw in (None, ""):
        paths: list[str] = []
    elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        parts = [x.strip() for x in raw if x.strip()]
        paths = parts if any(" > " in x for x in parts) or str(row.get("section") or "") in parts else []
        if parts and not paths:
            paths = [" > ".join(parts)]  # the parts of one heading path
    elif isinstance(raw, str):
        paths = [raw.strip()]
    else:
        raise LoadError(src, "field sections: expected a list of headings", lineno)
    section = re.sub(r"\s*>\s*", " > ", str(row.get("section") or "").strip())
    if not section and paths:
        section = paths[0]
    if section and section not in paths:
        paths.insert(0, section)
    return section, paths


def parse_jsonl(text: str, path: Path) -> list[LoadedDoc]:
    """JSONL passages: one object per line with title, text and optional source, article_no, effective_date,
    kind, domain, chapter, section (heading path) / sections, summary, sample."""
    rows: list[tuple[int, dict]] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LoadError(str(path), f"not valid JSON: {exc.msg} (column {exc.colno})", lineno) from None
        if not isinstance(obj, dict):
            raise LoadError(str(path), "each line must be a JSON object", lineno)
        rows.append((lineno, obj))
    if not rows:
        raise LoadError(str(path), "empty file", 1)
    return _passage_docs(rows, path, "jsonl")


def parse_csv(text: str, path: Path) -> list[LoadedDoc]:
    """CSV passages with a header row: title, text, optional source, article_no, effective_date."""
    if not text.strip():
        raise LoadError(str(path), "empty file", 1)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise LoadError(
            str(path),
            f"missing column(s) {', '.join(missing)} (header has: {', '.join(header) or 'nothing'})",
            1,
        )
    rows = []
    for row in reader:
        rows.append((reader.line_num, {(k or "").strip(): v for k, v in row.items()}))
    return _passage_docs(rows, path, "csv")
