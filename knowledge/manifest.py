"""The knowledge manifest: source files, articles (verbatim text, tokens, hashes), versions, kb_version.

It is the record of what is in the knowledge base: re-imports compare against it, look-ups read it,
and BM25 is rebuilt from the tokens stored here. Chroma only holds the vectors.

It lives on the database helper (knowledge/database/): by default `<home>/kb.sqlite`; with yiju.yaml
`database: postgresql://…` in the PostgreSQL database every replica shares, so an import through one
server is what every other server serves (each rebuilds its BM25 view when the shared `kb_version`
moves; see knowledge.serving) and the corpus-trained embedder travels with it (knowledge/shared_embedder.py).
SQL here and in its callers is written once with `?` placeholders for both backends.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from knowledge.database import Database, Transaction, open_database
from knowledge.migrations import MIGRATIONS_TABLE, adopt_first_release, kb_migrations
from knowledge.types import Passage

# The version stored for a law whose date is unknown (shown to users as '').
UNDATED = "undated"

ARTICLE_COLUMNS = (
    "id, file, domain, law, law_full, version, article_no, article_label, akey, chapter, text, content_hash,"
    " tokens, seq, sample, summary, kind, section, sections, effective_date, domains, family, origin, uploader,"
    " imported_at, file_hash, source_info"
)
_ARTICLE_COLUMN_LIST = ARTICLE_COLUMNS.split(", ")

# Insert an article or replace every column of the stored one (both backends).
UPSERT_ARTICLE = (
    f"INSERT INTO articles({ARTICLE_COLUMNS}) VALUES ({','.join('?' * len(_ARTICLE_COLUMN_LIST))})"
    " ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c}=excluded.{c}" for c in _ARTICLE_COLUMN_LIST if c != "id")
)
_FILE_COLUMNS = (
    "path, file_hash, fmt, domain, n_articles, domain_arg, origin, uploader, content_digest, imported_at"
)
# Record an imported source file (replaces the stored record, import time included).
UPSERT_FILE = (
    f"INSERT INTO files({_FILE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET "
    + ", ".join(f"{c}=excluded.{c}" for c in _FILE_COLUMNS.split(", ") if c != "path")
)
UPSERT_LAW_SETTING = (
    "INSERT INTO law_settings(law, domains, updated_by, updated_at) VALUES (?,?,?,?)"
    " ON CONFLICT(law) DO UPDATE SET domains=excluded.domains, updated_by=excluded.updated_by,"
    " updated_at=excluded.updated_at"
)
_UPSERT_META = (
    "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value"
)

# How long a replica trusts its last read of a shared meta value (kb_version, embedder name): every question
# checks the version, and one round trip per question to PostgreSQL is not needed to notice an import
# within a second. A SQLite manifest is read every time (a local read costs microseconds).
SHARED_META_TTL_S = 1.0


def file_time() -> str:
    """The `files.imported_at` format (what SQLite's datetime('now') wrote): UTC 'YYYY-MM-DD HH:MM:SS'."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


class Manifest:
    """The manifest on a `Database` (SQLite file or shared PostgreSQL). Thread-safe.

    `Manifest(path)` opens `<path>` as SQLite (the embedded default); `Manifest(database=url_or_db,
    home=…)` uses a PostgreSQL URL or an open Database.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        database: str | Database | None = None,
        home: Path | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        home = Path(home) if home is not None else (self.path.parent if self.path is not None else Path("."))
        if isinstance(database, Database):
            self.db = database
        elif database:
            self.db = open_database(str(database))
        else:
            if self.path is None:
                raise ValueError("Manifest needs a SQLite path or a database")
            self.db = open_database("", sqlite_file=self.path, synchronous="NORMAL", busy_timeout_s=10.0)
        self.shared = self.db.dialect != "sqlite"
        self._meta_cache: dict[str, tuple[float, str | None]] = {}
        self._meta_lock = threading.Lock()
        self.migrations_applied = self.db.migrate(
            kb_migrations(home), MIGRATIONS_TABLE[self.db.dialect], adopt=adopt_first_release
        )

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.db.dialect

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A write transaction (committed at the end, rolled back on any error); `tx.execute(sql, params)`,
        `tx.executemany(sql, rows)`. Reads through `query` in the same thread see its writes."""
        with self.db.transaction() as tx:
            yield tx

    def close(self) -> None:
        """Release the database (a shared PostgreSQL pool closes with its last user)."""
        self.db.close()

    def query(self, sql: str, params: Iterable = ()) -> list[Any]:
        """Run a read query; rows support row["col"], row[0], row.keys()."""
        return self.db.read(sql, tuple(params))

    def columns(self, table: str) -> set[str]:
        """The column names of a manifest table."""
        return self.db.columns(table)

    def get_meta(self, key: str, default: str = "") -> str:
        """A value from the meta table (on a shared database, at most SHARED_META_TTL_S old)."""
        if self.shared:
            with self._meta_lock:
                cached = self._meta_cache.get(key)
            if cached is not None and time.monotonic() - cached[0] < SHARED_META_TTL_S:
                return cached[1] if cached[1] is not None else default
        row = self.db.read_one("SELECT value FROM meta WHERE key=?", (key,))
        value = row["value"] if row is not None else None
        if self.shared:
            with self._meta_lock:
                self._meta_cache[key] = (time.monotonic(), value)
        return value if value is not None else default

    def set_meta(self, key: str, value: str, tx: Transaction | None = None) -> None:
        """Set a meta value (in `tx` when given, else in its own transaction)."""
        if tx is not None:
            tx.execute(_UPSERT_META, (key, value))
        else:
            with self.db.transaction() as own:
                own.execute(_UPSERT_META, (key, value))
        with self._meta_lock:
            self._meta_cache.pop(key, None)

    def fresh_meta(self, key: str, default: str = "") -> str:
        """A meta value read now (never the cached one)."""
        with self._meta_lock:
            self._meta_cache.pop(key, None)
        return self.get_meta(key, default)

    def file_hash(self, path: str) -> str | None:
        """The stored hash of a source file, or None if never imported."""
        rows = self.query("SELECT file_hash FROM files WHERE path=?", (path,))
        return rows[0]["file_hash"] if rows else None

    def articles_of_file(self, path: str) -> dict[str, Any]:
        """Stored articles that came from `path`, by id."""
        return {
            r["id"]: r for r in self.query(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE file=?", (path,))
        }

    def articles_by_ids(self, ids: Iterable[str]) -> dict[str, Any]:
        """Stored articles for these ids (missing ids are absent from the result)."""
        ids = list(ids)
        out: dict[str, Any] = {}
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
