"""Where a server's stores keep their data: yiju.yaml `database:` (one PostgreSQL database that every replica
shares) or, by default, SQLite files in the data directory (audit.sqlite, keys.sqlite).

Every store takes a `knowledge.database.Database`; this module is the one place that chooses it, so the
server, the CLI and the tests open the same database for the same configuration.
"""

from __future__ import annotations

from pathlib import Path

from assistant.config import YijuConfig
from knowledge.database import Database, open_database

AUDIT_FILE = "audit.sqlite"
KEYS_FILE = "keys.sqlite"
KB_FILE = "kb.sqlite"


def shared(config: YijuConfig) -> bool:
    """True when the stores live in a database shared by several servers (PostgreSQL)."""
    return bool(config.database)


def open_store_database(home: Path, config: YijuConfig, sqlite_name: str, **sqlite_options) -> Database:
    """The database of one store: the configured PostgreSQL database (a pool shared by this process's
    stores), else `<home>/<sqlite_name>`. Close it when done."""
    if config.database:
        from knowledge.database.postgres import shared_postgres

        return shared_postgres(config.database, max_connections=config.database_connections)
    return open_database(Path(home) / sqlite_name, **sqlite_options)


def knowledge_base(home: Path, config: YijuConfig):
    """The knowledge base of this data directory; its manifest (articles, versions, hashes, kb_version) in the
    shared PostgreSQL database when one is configured, so every replica serves the same knowledge."""
    from knowledge.kb import KnowledgeBase

    database = open_store_database(home, config, KB_FILE) if config.database else None
    try:
        return KnowledgeBase.open(home, config.knowledge_config(), database=database)
    except BaseException:
        if database is not None:
            database.close()
        raise


def key_store(home: Path, config: YijuConfig):
    """The API key store for this configuration."""
    from assistant.api.keys import KeyStore

    return KeyStore(open_store_database(home, config, KEYS_FILE), owns_database=True)


def audit_store(home: Path, config: YijuConfig, mask_pii=None):
    """The audit trail and review queue for this configuration (closing it releases its database)."""
    from knowledge.database import DatabaseError
    from safety.audit import AuditError, AuditStore

    try:
        database = open_store_database(home, config, AUDIT_FILE)
    except DatabaseError as exc:
        raise AuditError(f"cannot open the audit database: {exc}") from exc
    return AuditStore(database, mask_pii, owns_database=True)
