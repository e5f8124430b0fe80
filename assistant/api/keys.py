"""API keys for `yiju serve`: created by `yiju keys create`, stored hashed in the service database
(`<home>/keys.sqlite`, or the shared PostgreSQL database named by yiju.yaml's `database`).

A key is shown once at creation (``yk_<id>_<secret>``). Only an HMAC-SHA256 of the secret with a
per-key random salt is stored, so a leaked database does not leak usable keys. Look-up is by the
public id part, and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict

from knowledge.database import Database, Migration, Transaction, UniqueViolation, open_database
from knowledge.errors import YijuError

Role = Literal["clinic", "curator", "reviewer", "admin"]
ROLES: tuple[str, ...] = ("clinic", "curator", "reviewer", "admin")
KEY_PREFIX = "yk_"


class KeyInfo(BaseModel):
    """What is known about a key (never its secret)."""

    model_config = ConfigDict(extra="forbid")
    key_id: str
    name: str
    role: Role
    created_at: str
    revoked: bool = False


class KeyStoreError(YijuError):
    """Raised for bad key-store requests (unknown role, unknown key id)."""


def _hash(secret: str, salt: bytes) -> str:
    return hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def _unique_names(tx: Transaction) -> None:
    """Names are unique (revoked keys' names included), so `keys revoke NAME` and the review history's
    reviewer names are unambiguous. A store made before this rule may hold duplicates: the index is then
    not created and `create` still refuses new duplicates in its transaction."""
    if tx.execute("SELECT name FROM keys GROUP BY name HAVING COUNT(*) > 1").fetchone() is None:
        tx.execute("CREATE UNIQUE INDEX IF NOT EXISTS keys_name_unique ON keys(name)")


KEY_MIGRATIONS = (
    Migration(
        "keys_0001_table",  # IF NOT EXISTS: a keys.sqlite from before migrations were recorded is adopted
        sqlite="CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
        " salt BLOB NOT NULL, hash TEXT NOT NULL, created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)",
        postgresql="CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " role TEXT NOT NULL, salt BYTEA NOT NULL, hash TEXT NOT NULL, created_at TEXT NOT NULL,"
        " revoked INTEGER NOT NULL DEFAULT 0)",
    ),
    Migration("keys_0002_unique_names", both=_unique_names),
)
KEY_MIGRATIONS_TABLE = "key_migrations"


class KeyStore:
    """Hashed API keys in the service database (SQLite `<home>/keys.sqlite`, or the shared PostgreSQL
    database of every replica): a key revoked through one server is refused by all of them at once, since
    every check reads the database. Safe to share between threads and processes."""

    def __init__(self, database: Database | Path | str, *, owns_database: bool | None = None) -> None:
        self._owns = not isinstance(database, Database) if owns_database is None else owns_database
        self.db = database if isinstance(database, Database) else open_database(database)
        self.db.migrate(KEY_MIGRATIONS, KEY_MIGRATIONS_TABLE)

    def close(self) -> None:
        """Close the database if this store opened it."""
        if self._owns:
            self.db.close()

    def create(self, role: str, name: str = "") -> tuple[str, KeyInfo]:
        """Create a key; returns (the plaintext key — shown once, its info)."""
        if role not in ROLES:
            raise KeyStoreError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        checked = cast(Role, role)
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        salt = secrets.token_bytes(16)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        info = KeyInfo(
            key_id=key_id, name=name.strip() or f"{role}-{key_id}", role=checked, created_at=created
        )
        try:
            with self.db.transaction() as tx:
                tx.lock("keys")  # the name check and the insert, atomic across processes and replicas
                taken = tx.execute("SELECT key_id FROM keys WHERE name = ?", (info.name,)).fetchone()
                if taken is not None:
                    raise KeyStoreError(
                        f"a key named {info.name!r} already exists (id {taken[0]}); key names are unique, "
                        "choose another --name"
                    )
                tx.execute(
                    "INSERT INTO keys (key_id, name, role, salt, hash, created_at) VALUES (?,?,?,?,?,?)",
                    (key_id, info.name, role, salt, _hash(secret, salt), created),
                )
        except UniqueViolation as exc:  # a concurrent create won the name between check and insert
            raise KeyStoreError(f"a key named {info.name!r} already exists; choose another --name") from exc
        return f"{KEY_PREFIX}{key_id}_{secret}", info

    def verify(self, key: str) -> KeyInfo | None:
        """The key's info if `key` is a valid, unrevoked key; else None."""
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        body = key[len(KEY_PREFIX) :]
        key_id, sep, secret = body.partition("_")
        if not sep or not key_id or not secret:
            return None
        row = self.db.read_one(
            "SELECT name, role, salt, hash, created_at, revoked FROM keys WHERE key_id = ?", (key_id,)
        )
        if row is None:
            # Still spend a hash so unknown ids and wrong secrets take similar time.
            _hash(secret, b"0" * 16)
            return None
        name, role, salt, stored, created, revoked = row
        if not hmac.compare_digest(_hash(secret, bytes(salt)), stored) or revoked:
            return None
        return KeyInfo(key_id=key_id, name=name, role=role, created_at=created, revoked=False)

    def active(self, key_id: str) -> KeyInfo | None:
        """The info of the unrevoked key with this id, or None (for sessions that remember only the id)."""
        row = self.db.read_one(
            "SELECT name, role, created_at FROM keys WHERE key_id = ? AND revoked = 0", (key_id,)
        )
        if row is None:
            return None
        return KeyInfo(key_id=key_id, name=row[0], role=row[1], created_at=row[2])

    def list(self) -> list[KeyInfo]:
        """All keys, revoked ones included, oldest first."""
        rows = self.db.read(
            "SELECT key_id, name, role, created_at, revoked FROM keys ORDER BY created_at, key_id"
        )
        return [KeyInfo(key_id=r[0], name=r[1], role=r[2], created_at=r[3], revoked=bool(r[4])) for r in rows]

    def revoke(self, key_id_or_name: str) -> int:
        """Revoke one key by its id, else by its name; returns 1, or 0 when no active key matches.

        Never more than one: an id wins over a name, and a name that (in a store made before names were
        unique) belongs to several active keys is refused with KeyStoreError listing their ids.
        """
        with self.db.transaction() as tx:
            tx.lock("keys")
            rows = (
                tx.execute(
                    "SELECT key_id FROM keys WHERE key_id = ? AND revoked = 0", (key_id_or_name,)
                ).fetchall()
                or tx.execute(
                    "SELECT key_id FROM keys WHERE name = ? AND revoked = 0", (key_id_or_name,)
                ).fetchall()
            )
            if len(rows) > 1:
                ids = ", ".join(r[0] for r in rows)
                raise KeyStoreError(
                    f"{len(rows)} active keys are named {key_id_or_name!r} (ids {ids}); revoke one by its id"
                )
            if not rows:
                return 0
            tx.execute("UPDATE keys SET revoked = 1 WHERE key_id = ?", (rows[0][0],))
            return 1


def role_allows(role: str, required: str) -> bool:
    """True when a key of `role` may use an endpoint that needs `required` (admin may use everything)."""
    return role == "admin" or role == required
