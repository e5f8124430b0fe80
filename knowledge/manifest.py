"""The SQLite manifest (<home>/kb.sqlite): source files, articles (verbatim text, tokens, hashes), versions.

It is the record of what is in the knowledge base: re-imports compare against it, look-ups read it,
and BM25 is rebuilt from the tokens stored here. Chroma only holds the vectors.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from knowledge.types import Passage

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, file_hash TEXT NOT NULL, fmt TEXT, domain TEXT,
    n_articles INTEGER NOT NULL, imported_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, file TEXT NOT NULL, domain TEXT NOT NULL, law TEXT NOT NULL, law_full TEXT,
    version TEXT NOT NULL, article_no INTEGER, article_label TEXT, akey TEXT, chapter TEXT,
    text TEXT NOT NULL, content_hash TEXT NOT NULL, tokens TEXT NOT NULL, seq INTEGER,
    sample INTEGER NOT NULL DEFAULT 0, summary TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS articles_law ON articles(law, version, article_no);
CREATE INDEX IF NOT EXISTS articles_file ON articles(file);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

# The version stored for a law whose date is unknown (shown to users as '').
UNDATED = "undated"

ARTICLE_COLUMNS = "id, file, domain, law, law_full, version, article_no, article_label, akey, chapter, text, content_hash, tokens, seq, sample, summary"


class Manifest:
    """Thread-safe access to kb.sqlite (one connection guarded by a lock; WAL so readers do not block)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

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

    def compute_kb_version(self) -> str:
        """A short hash over every (id, content_hash): changes whenever content changes."""
        h = hashlib.sha256()
        for r in self.query("SELECT id, content_hash FROM articles ORDER BY id"):
            h.update(f"{r['id']}\t{r['content_hash']}\n".encode())
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
    )
