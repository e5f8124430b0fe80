"""Named migrations of the knowledge manifest (kb.sqlite), applied in order, each once, each in a transaction.

A knowledge base created by an older yiju opens and upgrades in place: its articles keep their ids and
texts; what the new columns need is derived from what is stored (file path, title, domain). Never edit a
migration that has shipped; append a new one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from knowledge.classify import GUIDELINE, edition_family, kind_for_path, resolve_domains

MIGRATIONS_TABLE = "_migrations"


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run ';'-separated statements inside the caller's transaction (executescript would commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def m001_initial(conn: sqlite3.Connection, home: Path) -> None:
    """The first release's tables: files, articles, meta."""
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


def m002_passage_metadata(conn: sqlite3.Connection, home: Path) -> None:
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
            " section=CASE WHEN ?=1 AND article_no IS NULL THEN COALESCE(chapter, '') ELSE '' END,"
            " sections=CASE WHEN ?=1 AND article_no IS NULL AND COALESCE(chapter, '')<>''"
            "   THEN json_array(chapter) ELSE '[]' END"
            " WHERE file=? AND law=? AND domain=?",
            (
                kind,
                domains,
                family,
                origin,
                file_hash,
                imported_at,
                int(kind == GUIDELINE),
                int(kind == GUIDELINE),
                file,
                law,
                domain,
            ),
        )
    conn.execute("UPDATE files SET origin='local' WHERE path LIKE ? || '%'", (uploads,))
    if conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]:
        # the vectors' metadata lacks `domains`: the KnowledgeBase adds it on open (knowledge.kb)
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('vector_meta_stale', '1')")


MIGRATIONS: tuple[tuple[str, Callable[[sqlite3.Connection, Path], None]], ...] = (
    ("m001_initial", m001_initial),
    ("m002_passage_metadata", m002_passage_metadata),
)


def apply_migrations(conn: sqlite3.Connection, home: Path) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied now. A database made before
    migrations were recorded (it has `articles` but no `_migrations`) counts as m001 applied."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
        " name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
    )
    done = {r[0] for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}").fetchall()}
    if (
        not done
        and conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='articles'").fetchone()
    ):
        conn.execute(f"INSERT INTO {MIGRATIONS_TABLE}(name) VALUES ('m001_initial')")
        done.add("m001_initial")
    applied: list[str] = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            fn(conn, home)
            conn.execute(f"INSERT INTO {MIGRATIONS_TABLE}(name) VALUES (?)", (name,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def sections_json(sections: list[str]) -> str:
    """How a passage's heading paths are stored."""
    return json.dumps(sections, ensure_ascii=False)
