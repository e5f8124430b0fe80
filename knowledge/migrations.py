"""Named migrations of the knowledge manifest, applied in order, each once, each in a transaction, by the
database helper (`Database.migrate`) on SQLite (kb.sqlite) or a shared PostgreSQL database.

A knowledge base created by an older yiju opens and upgrades in place: its articles keep their ids and
texts; what the new columns need is derived from what is stored (file path, title, domain). Never edit a
migration that has shipped; append a new one. Where the dialects differ (defaults, collations, BLOB/BYTEA)
a migration has one step per dialect; PostgreSQL's text keys use the "C" collation so that ORDER BY id / law
sorts exactly as SQLite does (code point order), whatever the server's locale.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from knowledge.classify import GUIDELINE, edition_family, kind_for_path, resolve_domains
from knowledge.database import Migration, Transaction

# Where applied migrations are recorded: kb.sqlite keeps the table it always had; in a shared PostgreSQL
# database (beside the audit's and the keys' tables) the name says whose it is.
MIGRATIONS_TABLE = {"sqlite": "_migrations", "postgresql": "kb_migrations"}


def _run_script(conn: Any, script: str) -> None:
    """Run ';'-separated statements inside the caller's transaction (executescript would commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def m001_initial(conn: Any, home: Path | None = None) -> None:
    """The first release's tables: files, articles, meta (SQLite; `conn` is a transaction or a
    sqlite3 connection)."""
    _run_script(
        conn,
        """
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
""",
    )


_M002_ARTICLE_COLUMNS = (
    ("kind", "TEXT NOT NULL DEFAULT ''"),
    ("section", "TEXT NOT NULL DEFAULT ''"),
    ("sections", "TEXT NOT NULL DEFAULT '[]'"),
    ("effective_date", "TEXT NOT NULL DEFAULT ''"),
    ("domains", "TEXT NOT NULL DEFAULT ''"),
    ("family", "TEXT NOT NULL DEFAULT ''"),
    ("origin", "TEXT NOT NULL DEFAULT 'official'"),
    ("uploader", "TEXT NOT NULL DEFAULT ''"),
    ("imported_at", "TEXT NOT NULL DEFAULT ''"),
    ("file_hash", "TEXT NOT NULL DEFAULT ''"),
    ("source_info", "TEXT NOT NULL DEFAULT ''"),
)


M001_POSTGRESQL = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT COLLATE "C" PRIMARY KEY, file_hash TEXT NOT NULL, fmt TEXT, domain TEXT,
    n_articles INTEGER NOT NULL,
    imported_at TEXT NOT NULL DEFAULT (to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'))
);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT COLLATE "C" PRIMARY KEY, file TEXT COLLATE "C" NOT NULL, domain TEXT NOT NULL,
    law TEXT COLLATE "C" NOT NULL, law_full TEXT,
    version TEXT COLLATE "C" NOT NULL, article_no INTEGER, article_label TEXT, akey TEXT COLLATE "C",
    chapter TEXT, text TEXT NOT NULL, content_hash TEXT NOT NULL, tokens TEXT NOT NULL, seq INTEGER,
    sample INTEGER NOT NULL DEFAULT 0, summary TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS articles_law ON articles(law, version, article_no);
CREATE INDEX IF NOT EXISTS articles_file ON articles(file);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS embedder_files (
    name TEXT NOT NULL, path TEXT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (name, path)
)
"""
# embedder_files: the corpus-trained embedder of a shared manifest (knowledge/shared_embedder.py), its files by
# embedder name, so every replica loads the one that embedded the vectors in the shared Chroma. A SQLite
# manifest has the embedder beside it on disk and needs no such table.


def m002_passage_metadata(conn: Any, home: Path) -> None:
    """Kind, guideline section path, effective date, every domain served, edition family and provenance
    (origin, uploader, import time, file hash) on every article; per-law domain choices of curators.

    Existing rows: kind from the corpus folder or the title, domains = the stored domain plus the automatic
    ones (a health statute imported as legal now also serves medical), origin `local` for files that came
    through an upload (under <home>/uploads), else `official`. Every file's content digest is left empty,
    so the next import re-reads each file once and compares its content with what is stored.
    """
    for name, decl in _M002_ARTICLE_COLUMNS:
        conn.execute(f"ALTER TABLE articles ADD COLUMN {name} {decl}")
    for name, decl in (
        ("origin", "TEXT NOT NULL DEFAULT 'official'"),
        ("uploader", "TEXT NOT NULL DEFAULT ''"),
        ("domain_arg", "TEXT NOT NULL DEFAULT ''"),
        ("content_digest", "TEXT"),
    ):
        conn.execute(f"ALTER TABLE files ADD COLUMN {name} {decl}")
    _run_script(
        conn,
        """
CREATE TABLE IF NOT EXISTS law_settings (
    law TEXT PRIMARY KEY, domains TEXT NOT NULL, updated_by TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_family ON articles(family);
""",
    )
    uploads = str((home / "uploads").resolve())
    files = {
        r[0]: (r[1], r[2]) for r in conn.execute("SELECT path, file_hash, imported_at FROM files").fetchall()
    }
    groups = conn.execute(
        "SELECT file, law, MAX(law_full), domain, MIN(version) FROM articles GROUP BY file, law, domain"
    ).fetchall()
    for file, law, law_full, domain, _ in groups:
        kind = kind_for_path(Path(file), law_full or law)
        domains = ",".join(resolve_domains(law_full or law, kind, domain))
        family = edition_family(law) if kind == GUIDELINE else law
        origin = "local" if file.startswith(uploads) else "official"
        file_hash, imported = files.get(file, ("", ""))
        imported_at = imported.replace(" ", "T") + "Z" if imported else ""
        conn.execute(
            "UPDATE articles SET kind=?, domains=?, family=?, origin=?, file_hash=?, imported_at=?,"
            " effective_date=CASE WHEN version='undated' THEN '' ELSE version END,"
            " section=CASE WHEN ?=1 AND article_no IS NULL THEN COALESCE(chapter, '') ELSE '' END"
            " WHERE file=? AND law=? AND domain=?",
            (
                kind,
                domains,
                family,
                origin,
                file_hash,
                imported_at,
                int(kind == GUIDELINE),
                file,
                law,
                domain,
            ),
        )
        if kind == GUIDELINE:  # a guideline's chapter was its heading path: the passage covers it
            chapters = conn.execute(
                "SELECT DISTINCT chapter FROM articles WHERE file=? AND law=? AND domain=?"
                " AND article_no IS NULL AND COALESCE(chapter, '')<>''",
                (file, law, domain),
            ).fetchall()
            for (chapter,) in chapters:
                conn.execute(
                    "UPDATE articles SET sections=? WHERE file=? AND law=? AND domain=? AND article_no IS NULL"
                    " AND chapter=?",
                    (sections_json([chapter]), file, law, domain, chapter),
                )
    conn.execute("UPDATE files SET origin='local' WHERE path LIKE ? || '%'", (uploads,))
    if conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]:
        # the vectors' metadata lacks `domains`: the KnowledgeBase adds it on open (knowledge.kb)
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('vector_meta_stale', '1')"
            " ON CONFLICT(key) DO UPDATE SET value=excluded.value"
        )


def kb_migrations(home: Path) -> tuple[Migration, ...]:
    """The manifest's migrations (`home` is the data directory: m002 tells uploads by their path)."""
    return (
        Migration("m001_initial", sqlite=m001_initial, postgresql=M001_POSTGRESQL),
        Migration("m002_passage_metadata", both=partial(_m002_step, home=home)),
    )


def _m002_step(tx: Transaction, *, home: Path) -> None:
    m002_passage_metadata(tx, home)


def adopt_first_release(tx: Transaction, done: set[str]) -> set[str]:
    """A kb.sqlite made before migrations were recorded (it has `articles`, nothing recorded) counts as
    m001 applied."""
    if not done and tx.dialect == "sqlite":
        row = tx.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='articles'").fetchone()
        if row:
            return done | {"m001_initial"}
    return done


def sections_json(sections: list[str]) -> str:
    """How a passage's heading paths are stored."""
    return json.dumps(sections, ensure_ascii=False)
