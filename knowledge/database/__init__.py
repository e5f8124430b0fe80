"""The one database helper every yiju store uses: the audit trail and review queue (safety), API keys, rate
limits and browser sessions (assistant), the knowledge manifest (knowledge).

It lives at the bottom of the package chain (knowledge → safety → adapters → assistant → ui) so that all
of them can import it. Two backends behind one interface (`Database`):
- SQLite (the embedded default): a file in the data directory, 0600, WAL, busy timeout, one connection
  per thread, writes in BEGIN IMMEDIATE transactions;
- PostgreSQL (`database: postgresql://…` in yiju.yaml): psycopg 3 with a psycopg_pool pool shared by the
  stores of one process, so several `yiju serve` replicas share one audit trail, key store and manifest.
Named migrations (`Migration`, `Database.migrate`) are applied in order, each once, in both.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.database.core import (
    DIALECTS,
    Database,
    DatabaseError,
    DatabaseUnavailable,
    Dialect,
    IntegrityError,
    Migration,
    Transaction,
    UniqueViolation,
    split_statements,
    utc_now,
)
from knowledge.database.sqlite import SqliteDatabase


def is_postgres_url(target: object) -> bool:
    """True for `postgresql://…` / `postgres://…` URLs (and libpq key=value strings naming a dbname)."""
    text = str(target or "")
    return text.startswith(("postgresql://", "postgres://")) or (
        "=" in text and "dbname" in text and "/" not in text.split("=", 1)[0]
    )


def open_database(target: str | Path, *, sqlite_file: Path | None = None, **sqlite_options) -> Database:
    """A PostgreSQL URL → the process's shared pool for it; anything else (or empty) → a SQLite file.

    `target` empty means "the embedded default": `sqlite_file` (the store's own file in the data directory).
    Close what you open (a shared pool closes with its last user).
    """
    if is_postgres_url(target):
        from knowledge.database.postgres import shared_postgres

        return shared_postgres(str(target))
    path = Path(target) if target else sqlite_file
    if path is None:
        raise DatabaseError("no database given: a SQLite file path or a postgresql:// URL")
    return SqliteDatabase(path, **sqlite_options)


__all__ = [
    "DIALECTS",
    "Database",
    "DatabaseError",
    "DatabaseUnavailable",
    "Dialect",
    "IntegrityError",
    "Migration",
    "SqliteDatabase",
    "Transaction",
    "UniqueViolation",
    "is_postgres_url",
    "open_database",
    "split_statements",
    "utc_now",
]
