"""Import into the knowledge base: parse source files, write them one file at a time (atomically), train
the corpus embedder when needed.

Each file is written atomically: its vectors, then its manifest rows in one transaction; on any failure
what was written for that file is undone. The KnowledgeBase (knowledge/kb.py) is the facade callers use.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from knowledge import shared_embedder
from knowledge.classify import GUIDELINE, edition_family, resolve_domains
from knowledge.config import StaticEmbedderConfig
from knowledge.errors import KnowledgeError, LoadError, ProtectedText
from knowledge.loaders import LoadedDoc
from knowledge.manifest import ARTICLE_COLUMNS, UPSERT_ARTICLE, UPSERT_FILE, file_time, split_domains
from knowledge.manifest import UNDATED as _UNDATED
from knowledge.migrations import sections_json
from knowledge.progress import progress_bar
from knowledge.sources import iter_source_files
from knowledge.types import passage_id

if TYPE_CHECKING:
    from knowledge.kb import KnowledgeBase


class ImportIssue(BaseModel):
    """One problem met during an import (the file and, when known, the line)."""

    model_config = ConfigDict(extra="forbid")
    file: str
    line: int | None = None
    message: str


class ImportReport(BaseModel):
    """What an import did."""

    model_config = ConfigDict(extra="forbid")
    files_imported: int = 0
    files_skipped: int = Field(default=0, description="Unchanged since the last import (same file hash)")
    articles_added: int = 0
    articles_updated: int = 0
    articles_unchanged: int = 0
    articles_removed: int = 0
    errors: list[ImportIssue] = Field(default_factory=list)
    embedder_trained: bool = False
    seconds: float = 0.0


ORIGINS = ("official", "local")
# Columns whose change needs new vectors (the embedder reads the text and the tokens).
_TEXT_COLUMNS = ("content_hash", "tokens")
# Columns compared on re-import; a difference only here rewrites the row and the vector's metadata.
_META_COLUMNS = (
    "domain",
    "domains",
    "law_full",
    "article_no",
    "article_label",
    "chapter",
    "summary",
    "sample",
    "kind",
    "section",
    "sections",
    "effective_date",
    "family",
    "origin",
    "source_info",
)


@dataclass
class _Pending:
    key: str
    file_hash: str
    fmt: str
    docs: list[LoadedDoc]
    tokens: list[list[list[str]]]  # per doc, per article
    # vectors the child computed while parsing: (passage id, stored tokens) -> vector, and whose they are
    vectors: dict[tuple[str, str], np.ndarray] | None = None
    embedder_name: str = ""


def vector_metadata(row) -> dict:
    """What the vector store keeps next to each vector (used by its `where` filters)."""
    no = row["article_no"]
    return {
        "domain": row["domain"],
        "domains": split_domains(row["domains"]) or [row["domain"]],
        "law": row["law"],
        "version": row["version"],
        "article_no": int(no) if no is not None else -1,
    }


def utc_now() -> str:
    """Now, UTC, ISO 8601 to the second (how import times are stored)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _not_imported(message: str, strict: bool, parsing: bool = False) -> str:
    """The error text plus what happened to the file: a file is imported whole or not at all, so users
    must learn that one bad line kept every article of that file out of the knowledge base."""
    if not strict:
        return f"{message} — file skipped (no articles from it were imported); fix it and re-run"
    if parsing:  # strict stops before anything is written
        return f"{message} — nothing was imported (--strict: any error stops the whole import); fix it and re-run"
    return f"{message} — file not imported and the import stopped here (--strict); fix it and re-run"


class Importer:
    """One import run against a KnowledgeBase (holds no state between runs)."""

    def __init__(self, kb: KnowledgeBase, *, origin: str = "official", uploader: str = "") -> None:
        if origin not in ORIGINS:
            raise KnowledgeError(f"invalid origin {origin!r} (official or local)")
        self.kb = kb
        self.home = kb.home
        self.config = kb.config
        self.manifest = kb.manifest
        self.origin = origin
        self.uploader = uploader
        self.imported_at = utc_now()
        self._digests: dict[str, str] | None = None

    @property
    def embedder_dir(self) -> Path:
        return self.kb.embedder_dir

    def embedder(self):
        return self.kb.embedder()

    def _store_obj(self):
        return self.kb._store_obj()

    def run(
        self,
        path: Path,
        *,
        domain: str = "auto",
        fmt: str = "auto",
        strict: bool = False,
        progress: bool = True,
        source_name: str | None = None,
    ) -> ImportReport:
        """Import a file or folder. Unchanged files/articles are skipped by hash; changed ones updated.

        Each file is written atomically: its vectors, then its manifest rows in one transaction; on any
        failure what was written for that file is undone. Parse errors name file and line; with
        `strict` nothing is written when any file fails to parse, else the other files are imported.
        `source_name` (one file only) is the name the file is recorded under instead of its path — an
        upload's own name, so uploading it again replaces what the earlier upload brought.
        """
        if domain not in ("auto", "legal", "medical") and not re.fullmatch(r"[a-z][a-z0-9_]{1,30}", domain):
            raise KnowledgeError(f"invalid domain {domain!r} (auto, legal, medical or a lowercase name)")
        started = time.monotonic()
        report = ImportReport()
        path = Path(path)
        try:
            files = iter_source_files(path, fmt)
        except LoadError as exc:
            report.errors.append(ImportIssue(file=exc.file, line=exc.line, message=exc.message))
            return report
        if source_name is not None and len(files) != 1:
            raise KnowledgeError("source_name names one file; import a folder without it")
        self.domain_arg = domain
        self.source_name = source_name
        from knowledge.serving import sharing_the_interpreter

        # while questions are being answered, parsing, tokenising, embedding and the index build run in a
        # child process (knowledge/worker.py); every manifest and vector-store write stays here
        self._child = self.kb.child_work()
        with self._child, self.kb._write_lock, sharing_the_interpreter():
            pending = self._parse_files(files, fmt, report, strict, progress)
            if strict and report.errors:
                report.seconds = round(time.monotonic() - started, 3)
                return report
            if pending:
                report.embedder_trained = self._ensure_embedder(pending, progress)
                with progress_bar(progress, "writing", len(pending)) as advance:
                    for item in pending:
                        try:
                            self._write_file(item, report)
                            report.files_imported += 1
                        except LoadError as exc:
                            report.errors.append(
                                ImportIssue(
                                    file=exc.file, line=exc.line, message=_not_imported(exc.message, strict)
                                )
                            )
                            if strict:
                                break
                        except KnowledgeError:
                            raise
                        except Exception as exc:  # store/database failure: this file was rolled back
                            msg = _not_imported(f"import failed, rolled back: {exc}", strict)
                            report.errors.append(ImportIssue(file=item.key, message=msg))
                            if strict:
                                break
                        advance(1)
                self.kb._refresh_version()
                # build (and cache on disk) the BM25 index now, so the first question does not pay for it
                with progress_bar(progress, "indexing", 1) as advance:
                    self.kb.serving.rebuild_now(self._child)  # the old snapshot answers questions meanwhile
                    advance(1)
        report.seconds = round(time.monotonic() - started, 3)
        return report

    def _parse_files(
        self, files: Sequence[Path], fmt: str, report: ImportReport, strict: bool, progress: bool
    ) -> list[_Pending]:
        from knowledge.worker import parse_file

        child = self._child
        # the embedder in use now (a retrain after parsing makes these vectors unused: names differ)
        embed_args = (self.config, self.embedder_dir) if child.isolated else (None, None)
        todo: list[tuple[Path, str, str, Future]] = []  # (file, key, hash, future of its ParsedFile)
        with progress_bar(progress, "parsing", len(files)) as advance:
            for f in files:
                key = f"upload/{self.source_name}" if self.source_name else str(f.resolve())
                try:
                    file_hash = _sha256_file(f)
                except OSError as exc:
                    msg = _not_imported(f"cannot read: {exc}", strict, parsing=True)
                    report.errors.append(ImportIssue(file=str(f), message=msg))
                    if strict:
                        break
                    continue
                unchanged = self._unchanged(key, file_hash)
                if unchanged is not None:
                    advance(1)
                    report.files_skipped += 1
                    report.articles_unchanged += unchanged
                    continue
                # queued: the child parses the next file while this process looks at the one before
                todo.append((f, key, file_hash, child.submit(parse_file, f, fmt, *embed_args)))
            pending: list[_Pending] = []
            for n, (f, key, file_hash, future) in enumerate(todo):
                parsed = child.result(future, parse_file, f, fmt, *embed_args)
                advance(1)
                if parsed.error is not None:
                    file, line, message = parsed.error
                    msg = _not_imported(message, strict, parsing=True)
                    report.errors.append(ImportIssue(file=file, line=line, message=msg))
                    if strict:
                        for _, _, _, later in todo[n + 1 :]:
                            later.cancel()
                        break
                    continue
                item = _Pending(key, file_hash, parsed.docs[0].fmt, parsed.docs, parsed.tokens)
                item.vectors, item.embedder_name = parsed.vectors, parsed.embedder_name
                pending.append(item)
        return pending

    def _unchanged(self, key: str, file_hash: str) -> int | None:
        """The article count of a file that needs no work, else None. A file is skipped only when its bytes,
        the requested domain and origin are the same as last time AND what is stored from it still has the
        content it had (its digest) — so text changed behind the import's back is restored."""
        rows = self.manifest.query(
            "SELECT file_hash, n_articles, domain_arg, origin, content_digest FROM files WHERE path=?", (key,)
        )
        if not rows:
            return None
        row = rows[0]
        if (
            row["file_hash"] != file_hash
            or row["domain_arg"] != self.domain_arg
            or row["origin"] != self.origin
            or not row["content_digest"]
        ):
            return None
        if self._digests is None:
            self._digests = self.manifest.file_digests()
        if self._digests.get(key, "") != row["content_digest"]:
            return None
        return row["n_articles"]

    def _doc_domains(self, doc: LoadedDoc, chosen: dict[str, list[str]]) -> list[str]:
        """A curator's choice for this law wins; else the import's --domain (or the row's), then the
        automatic ones (knowledge.classify.resolve_domains)."""
        if doc.law in chosen:
            return chosen[doc.law]
        return resolve_domains(
            doc.law_full, doc.kind, doc.domain if self.domain_arg == "auto" else self.domain_arg
        )

    def _article_rows(self, item: _Pending) -> list[dict]:
        rows: list[dict] = []
        seen: dict[str, int | None] = {}
        chosen = self.manifest.law_domain_settings([d.law for d in item.docs])
        for doc, toks in zip(item.docs, item.tokens, strict=True):
            domains = self._doc_domains(doc, chosen)
            family = edition_family(doc.law) if doc.kind == GUIDELINE else doc.law
            version = doc.version or _UNDATED
            for seq, (art, tk) in enumerate(zip(doc.articles, toks, strict=True)):
                aid = passage_id(doc.law, version, art.key)
                if aid in seen:
                    raise LoadError(
                        item.key,
                        f"article {art.article_label or art.key} of {doc.law} appears twice",
                        art.line,
                    )
                seen[aid] = art.line
                rows.append(
                    {
                        "id": aid,
                        "file": item.key,
                        "domain": domains[0],
                        "law": doc.law,
                        "law_full": doc.law_full,
                        "version": version,
                        "article_no": art.article_no,
                        "article_label": art.article_label,
                        "akey": art.key,
                        "chapter": art.chapter,
                        "text": art.text,
                        "content_hash": art.content_hash,
                        "tokens": " ".join(tk),
                        "seq": seq,
                        "sample": int(doc.sample),
                        "summary": art.summary,
                        "kind": doc.kind,
                        "section": art.section,
                        "sections": sections_json(art.sections),
                        "effective_date": doc.effective_date,
                        "domains": ",".join(domains),
                        "family": family,
                        "origin": self.origin,
                        "uploader": self.uploader,
                        "imported_at": self.imported_at,
                        "file_hash": item.file_hash,
                        "source_info": doc.source_hint,
                        "_line": art.line,
                    }
                )
        return rows

    _meta = staticmethod(vector_metadata)

    def _embed_rows(self, rows: Sequence, item: _Pending | None = None) -> np.ndarray:
        """Vectors of stored/new rows: the ones the child computed while parsing `item` when they were
        made by the embedder in use from the same tokens, else computed now (in the child when there is
        one)."""
        from knowledge.worker import embed_documents

        emb = self.embedder()
        if item is not None and item.vectors and item.embedder_name == emb.name:
            found = [item.vectors.get((r["id"], r["tokens"])) for r in rows]
            have = [v for v in found if v is not None]
            if len(have) == len(found):
                return np.stack(have) if have else np.zeros((0, emb.dim), np.float32)
        texts = [r["text"] for r in rows]
        toks = [r["tokens"].split() for r in rows]
        child = getattr(self, "_child", None)
        if child is not None and child.isolated and isinstance(self.config.embedder, StaticEmbedderConfig):
            name, vecs = child.call(embed_documents, self.config, self.embedder_dir, texts, toks)
            if name == emb.name:
                return vecs
        return emb.embed_documents(texts, toks)

    def _write_file(self, item: _Pending, report: ImportReport) -> None:
        """Write one file atomically (vectors, then the manifest in one transaction; undo on failure)."""
        new_rows = self._article_rows(item)
        old = self.manifest.articles_of_file(item.key)
        elsewhere = self.manifest.articles_by_ids([r["id"] for r in new_rows if r["id"] not in old])
        prior = {**old, **elsewhere}
        if self.origin != "official":
            new_rows = self._guard_official_text(item, new_rows, prior, report)
        changed = []  # new or new text: embedded again
        relabelled = []  # same text, other metadata (domains, kind, section …): row and vector metadata
        for r in new_rows:
            before = prior.get(r["id"])
            if before is None:
                report.articles_added += 1
                changed.append(r)
            elif any(before[c] != r[c] for c in _TEXT_COLUMNS):
                report.articles_updated += 1
                changed.append(r)
            elif any(before[c] != r[c] for c in _META_COLUMNS):
                report.articles_updated += 1
                relabelled.append({**r, "uploader": before["uploader"], "imported_at": before["imported_at"]})
            else:
                # the same article in another file (a copy under another category) is not a change
                report.articles_unchanged += 1
        new_ids = {r["id"] for r in new_rows}
        removed = [i for i in old if i not in new_ids]
        report.articles_removed += len(removed)
        emb = self.embedder()
        store = self._store_obj() if emb is not None else None
        written = False
        try:
            if store is not None and (changed or removed or relabelled):
                if changed:
                    vecs = self._embed_rows(changed, item)
                    written = True
                    store.upsert(emb.name, [r["id"] for r in changed], vecs, [self._meta(r) for r in changed])
                if relabelled:
                    written = True
                    store.update_metadata(
                        emb.name, [r["id"] for r in relabelled], [self._meta(r) for r in relabelled]
                    )
                if removed:
                    written = True
                    store.delete(emb.name, removed)
            self._commit_file(item, new_rows, changed + relabelled, removed)
        except Exception:
            if store is not None and written:
                touched = [r["id"] for r in changed + relabelled]
                self._restore_vectors(store, emb, touched, removed, prior)
            raise

    def _guard_official_text(
        self, item: _Pending, rows: list[dict], prior: dict, report: ImportReport
    ) -> list[dict]:
        """A curator's upload never changes official text: a (law, version) imported from an official corpus
        may not get other text or new articles from an upload (ProtectedText names file, line and article);
        articles identical to the official ones are left as they are (still official). Returns the rows the
        upload may write."""
        pairs = sorted({(r["law"], r["version"]) for r in rows})
        official: set[tuple[str, str]] = set()
        for law, version in pairs:
            if self.manifest.query(
                "SELECT 1 FROM articles WHERE law=? AND version=? AND origin='official' LIMIT 1",
                (law, version),
            ):
                official.add((law, version))
        keep: list[dict] = []
        same = 0
        for r in rows:
            if (r["law"], r["version"]) not in official:
                keep.append(r)
                continue
            before = prior.get(r["id"])
            if (
                before is not None
                and before["origin"] == "official"
                and before["content_hash"] == r["content_hash"]
            ):
                same += 1
                continue
            shown = "undated" if r["version"] == _UNDATED else r["version"]
            what = "adds" if before is None else "changes"
            raise ProtectedText(
                item.key,
                f"{what} {r['article_label'] or r['akey']} of {r['law']} ({shown}), which is official text"
                " imported from the official corpus; an upload cannot change official text — upload your"
                " text under another title or version date (it is then kept as a separate local version)",
                r["_line"],
            )
        report.articles_unchanged += same
        return keep

    def _commit_file(self, item: _Pending, rows: list[dict], changed: list[dict], removed: list[str]) -> None:
        cols = ARTICLE_COLUMNS.split(", ")
        with self.manifest.transaction() as conn:
            if removed:
                conn.executemany("DELETE FROM articles WHERE id=?", [(i,) for i in removed])
            conn.executemany(UPSERT_ARTICLE, [tuple(r[c] for c in cols) for r in changed])
            conn.execute(
                UPSERT_FILE,
                (
                    item.key,
                    item.file_hash,
                    item.fmt,
                    rows[0]["domain"] if rows else "",
                    len(rows),
                    self.domain_arg,
                    self.origin,
                    self.uploader,
                    self.manifest.digest_of_file(item.key),
                    file_time(),
                ),
            )
        # articles dropped from the file are never returned again; re-imported ones are no longer filtered
        self.kb.serving.forget(removed)
        self.kb.serving.revive(r["id"] for r in changed)

    def _restore_vectors(self, store, emb, changed_ids: list[str], removed: list[str], prior: dict) -> None:
        """Put the vector store back as it was before this file (best effort, after a failed write)."""
        fresh = [i for i in changed_ids if i not in prior]
        try:
            store.delete(emb.name, fresh)
            back = [prior[i] for i in list(changed_ids) + list(removed) if i in prior]
            if back:
                store.upsert(
                    emb.name, [r["id"] for r in back], self._embed_rows(back), [self._meta(r) for r in back]
                )
        except Exception:
            pass  # the manifest was not committed; a later import re-writes these vectors

    # ------------------------------------------------------------------ embedder
    def _ensure_embedder(self, pending: list[_Pending], progress: bool) -> bool:
        """Train the static embedder when there is none or the corpus grew a lot; re-embed stored articles."""
        cfg = self.config.embedder
        if not isinstance(cfg, StaticEmbedderConfig):
            return False
        self.kb.embedder()  # a shared manifest: first fetch the embedder another replica trained
        stored = self.manifest.query("SELECT COUNT(*) AS n FROM articles")[0]["n"]
        incoming = sum(len(a) for p in pending for a in p.tokens)
        info_path = self.embedder_dir / "yiju_embedder.json"
        if info_path.exists():
            trained_on = json.loads(info_path.read_text(encoding="utf-8")).get("trained_on_articles", 0)
            if stored + incoming < trained_on * cfg.retrain_growth:
                return False
        from knowledge.embedder import StaticJiebaEmbedder, train_static_embedder

        docs: list[list[str]] = []
        titles: list[str] = []
        for r in self.manifest.query("SELECT law, tokens FROM articles"):
            docs.append(r["tokens"].split())
            titles.append(r["law"])
        for p in pending:
            for d, toks in zip(p.docs, p.tokens, strict=True):
                docs.extend(toks)
                titles.extend([d.law] * len(toks))
        tmp = self.home / "embedder.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        steps_hint = max(1, min(len(docs), cfg.max_pairs) // cfg.batch_size * cfg.epochs)
        with progress_bar(progress, "training embedder", steps_hint) as advance:
            train_static_embedder(docs, titles, tmp, cfg, progress=lambda s, t: advance(1))
        old_name = (
            self.kb._embedder.name if self.kb._embedder_loaded and self.kb._embedder is not None else None
        )
        shutil.rmtree(self.embedder_dir, ignore_errors=True)
        tmp.rename(self.embedder_dir)
        self.kb._embedder = StaticJiebaEmbedder(self.embedder_dir)
        self.kb._embedder_loaded = True
        if stored:
            self._reembed_all(progress)
        shared_embedder.publish(self.manifest, self.embedder_dir, self.kb._embedder.name)  # other replicas
        store = self._store_obj()
        if old_name != self.kb._embedder.name:
            store.drop_other_collections(self.kb._embedder.name)
        return True

    def _reembed_all(self, progress: bool) -> None:
        """Vectors for every stored article with the current embedder (after a retrain)."""
        emb = self.embedder()
        store = self._store_obj()
        rows = self.manifest.query(f"SELECT {ARTICLE_COLUMNS} FROM articles")
        step = 2048
        with progress_bar(progress, "re-embedding", len(rows)) as advance:
            for i in range(0, len(rows), step):
                chunk = rows[i : i + step]
                store.upsert(
                    emb.name,
                    [r["id"] for r in chunk],
                    self._embed_rows(chunk),
                    [self._meta(r) for r in chunk],
                )
                advance(len(chunk))
