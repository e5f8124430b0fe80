"""The SQLite manifest (<home>/kb.sqlite): source files, articles (verbatim text, tokens, hashes), versions.

It is the record of what is in the knowledge base: re-imports compare against it, look-ups read it,
and BM25 is rebuilt from the tokens stored here. Chroma only holds the vectors.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from knowledge.migrations import apply_migrations
from knowledge.private_files import private_database
from knowledge.types import Passage

# The version stored for a law whose date is unknown (shown to users as '').
UNDATED = "undated"

ARTICLE_COLUMNS = (
    "id, file, domain, law, law_full, version, article_no, article_label, akey, chapter, text, content_hash,"
    " tokens, seq, sample, summary, kind, section, sections, effective_date, domains, family, origin, uploader,"
    " imported_at, file_hash, source_info"
)


class Manifest:
    """Thread-safe access to kb.sqlite (one connection guarded by a lock; WAL so readers do not block)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        private_database(path)  # owner-only, WAL/SHM included (issue 14 item 5)
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=10000")
        with self.lock:
            self.migrations_applied = apply_migrations(self.conn, Path(path).parent)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN … COMMIT under the lock (ROLLBACK on any error); yields the connection."""
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        """Run a read query under the lock."""
        with self.lock:
            return self.conn.execute(sql, tuple(params)).fetchall()

    def get_meta(self, key: str, default: str = "") -> str:
        """A value from the meta table."""
        rows = self.query("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0]["value"] if rows else default

    def set_meta(self, key: str, value: str) -> None:
        """Set a meta value (autocommit)."""
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def file_hash(self, path: str) -> str | None:
        """The stored hash of a source file, or None if never imported."""
        rows = self.query("SELECT file_hash FROM files WHERE path=?", (path,))
        return rows[0]["file_hash"] if rows else None

    def articles_of_file(self, path: str) -> dict[str, sqlite3.Row]:
        """Stored articles that came from `path`, by id."""
        return {
            r["id"]: r for r in self.query(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE file=?", (path,))
        }

    def articles_by_ids(self, ids: Iterable[str]) -> dict[str, sqlite3.Row]:
        """Stored articles for these ids (missing ids are absent from the result)."""
        ids = list(ids)
        out: dict[str, sqlite3.Row] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.query(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id IN ({marks})", chunk):
                out[r["id"]] = r
        return out

    def digest_of_file(self, path: str) -> str:
        """A hash over (id, content_hash) of the articles stored from `path` (how re-import notices text that
        changed behind its back)."""
        h = hashlib.sha256()
        for r in self.query("SELECT id, content_hash FROM articles WHERE file=? ORDER BY id", (path,)):
            h.update(f"{r['id']}\t{r['content_hash']}\n".encode())
        return h.hexdigest()

    def file_digests(self) -> dict[str, str]:
        """digest_of_file for every file at once (one pass over the articles)."""
        out: dict[str, str] = {}
        current, h = None, hashlib.sha256()
        for r in self.query("SELECT file, id, content_hash FROM articles ORDER BY file, id"):
            if r["file"] != current:
                if current is not None:
                    out[current] = h.hexdigest()
                current, h = r["file"], hashlib.sha256()
            h.update(f"{r['id']}\t{r['content_hash']}\n".encode())
        if current is not None:
            out[current] = h.hexdigest()
        return out

    def law_domain_settings(self, laws: Iterable[str] | None = None) -> dict[str, list[str]]:
        """Domains chosen by a curator, by law (short name); only for `laws` when given."""
        rows = self.query("SELECT law, domains FROM law_settings")
        wanted = set(laws) if laws is not None else None
        return {r["law"]: split_domains(r["domains"]) for r in rows if wanted is None or r["law"] in wanted}

    def compute_kb_version(self) -> str:
        """A short hash over every article's id, text hash and what decides where and whether it is served
        (domains, origin, effective date, edition family): changes whenever any of them changes."""
        h = hashlib.sha256()
        for r in self.query(
            "SELECT id, content_hash, domains, origin, effective_date, family FROM articles ORDER BY id"
        ):
            h.update("\t".join(str(r[k]) for k in r.keys()).encode() + b"\n")
        return h.hexdigest()[:16]


def row_to_passage(row, score: float = 0.0) -> Passage:
    """A stored article row as the Passage handed to the rest of yiju."""
    return Passage(
        id=row["id"],
        domain=row["domain"],
        law=row["law"],
        law_full=row["law_full"] or row["law"],
        article_no=row["article_no"],
        article_label=row["article_label"] or "",
        chapter=row["chapter"] or "",
        text=row["text"],
        version=row["version"] if row["version"] != UNDATED else "",
        source=row["file"],
        content_hash=row["content_hash"],
        score=score,
        sample=bool(row["sample"]),
        summary=row["summary"] or "",
        kind=row["kind"] or "",
        section=row["section"] or "",
        sections=json.loads(row["sections"] or "[]"),
        effective_date=row["effective_date"] or "",
        domains=split_domains(row["domains"]) or [row["domain"]],
        origin=row["origin"] or "official",
        uploader=row["uploader"] or "",
        imported_at=row["imported_at"] or "",
        file_hash=row["file_hash"] or "",
        source_info=row["source_info"] or "",
    )


def split_domains(value: str | None) -> list[str]:
    """The stored 'medical,legal' as ['medical', 'legal'] (primary first)."""
    return [d for d in (value or "").split(",") if d]
