"""API keys for `yiju serve`: created by `yiju keys create`, stored hashed in `<home>/keys.sqlite`.

A key is shown once at creation (``yk_<id>_<secret>``). Only an HMAC-SHA256 of the secret with a
per-key random salt is stored, so a leaked database does not leak usable keys. Look-up is by the
public id part, and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from knowledge.private_files import private_database

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


class KeyStoreError(Exception):
    """Raised for bad key-store requests (unknown role, unknown key id)."""


def _hash(secret: str, salt: bytes) -> str:
    return hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).hexdigest()


class KeyStore:
    """SQLite-backed store of hashed API keys; safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        private_database(self.path)  # owner-only, WAL/SHM included
        with self._connect() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS keys ("
                " key_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
                " salt BLOB NOT NULL, hash TEXT NOT NULL, created_at TEXT NOT NULL,"
                " revoked INTEGER NOT NULL DEFAULT 0)"
            )
            # Names are unique (revoked keys' names included), so `keys revoke NAME` and the review
            # history's reviewer names are unambiguous. A store made before this rule may hold duplicates:
            # the index is then not created and `create` still refuses new duplicates in its transaction.
            try:
                con.execute("CREATE UNIQUE INDEX IF NOT EXISTS keys_name_unique ON keys(name)")
            except sqlite3.IntegrityError:
                pass

    def _connect(self) -> sqlite3.Connection:
        # A fresh connection per operation: cheap for this tiny table, and thread-safe by construction.
        con = sqlite3.connect(self.path, timeout=10)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    def create(self, role: str, name: str = "") -> tuple[str, KeyInfo]:
        """Create a key; returns (the plaintext key — shown once, its info)."""
        if role not in ROLES:
            raise KeyStoreError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        salt = secrets.token_bytes(16)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        info = KeyInfo(key_id=key_id, name=name.strip() or f"{role}-{key_id}", role=role, created_at=created)
        with self._lock, self._connect() as con:
            con.execute("BEGIN IMMEDIATE")  # the name check and the insert, atomic across processes
            taken = con.execute("SELECT key_id FROM keys WHERE name = ?", (info.name,)).fetchone()
            if taken is not None:
                raise KeyStoreError(
                    f"a key named {info.name!r} already exists (id {taken[0]}); key names are unique, "
                    "choose another --name"
                )
            con.execute(
                "INSERT INTO keys (key_id, name, role, salt, hash, created_at) VALUES (?,?,?,?,?,?)",
                (key_id, info.name, role, salt, _hash(secret, salt), created),
            )
        return f"{KEY_PREFIX}{key_id}_{secret}", info

    def verify(self, key: str) -> KeyInfo | None:
        """The key's info if `key` is a valid, unrevoked key; else None."""
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        body = key[len(KEY_PREFIX) :]
        key_id, sep, secret = body.partition("_")
        if not sep or not key_id or not secret:
            return None
        with self._connect() as con:
            row = con.execute(
                "SELECT name, role, salt, hash, created_at, revoked FROM keys WHERE key_id = ?", (key_id,)
            ).fetchone()
        if row is None:
            # Still spend a hash so unknown ids and wrong secrets take similar time.
            _hash(secret, b"0" * 16)
            return None
        name, role, salt, stored, created, revoked = row
        if not hmac.compare_digest(_hash(secret, salt), stored) or revoked:
            return None
        return KeyInfo(key_id=key_id, name=name, role=role, created_at=created, revoked=False)

    def active(self, key_id: str) -> KeyInfo | None:
        """The info of the unrevoked key with this id, or None (for sessions that remember only the id)."""
        with self._connect() as con:
            row = con.execute(
                "SELECT name, role, created_at FROM keys WHERE key_id = ? AND revoked = 0", (key_id,)
            ).fetchone()
        if row is None:
            return None
        return KeyInfo(key_id=key_id, name=row[0], role=row[1], created_at=row[2])

    def list(self) -> list[KeyInfo]:
        """All keys, revoked ones included, oldest first."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT key_id, name, role, created_at, revoked FROM keys ORDER BY created_at, key_id"
            ).fetchall()
        return [KeyInfo(key_id=r[0], name=r[1], role=r[2], created_at=r[3], revoked=bool(r[4])) for r in rows]

    def revoke(self, key_id_or_name: str) -> int:
        """Revoke one key by its id, else by its name; returns 1, or 0 when no active key matches.

        Never more than one: an id wins over a name, and a name that (in a store made before names were
        unique) belongs to several active keys is refused with KeyStoreError listing their ids.
        """
        with self._lock, self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            rows = (
                con.execute(
                    "SELECT key_id FROM keys WHERE key_id = ? AND revoked = 0", (key_id_or_name,)
                ).fetchall()
                or con.execute(
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
            con.execute("UPDATE keys SET revoked = 1 WHERE key_id = ?", (rows[0][0],))
            return 1


def role_allows(role: str, required: str) -> bool:
    """True when a key of `role` may use an endpoint that needs `required` (admin may use everything)."""
    return role == "admin" or role == required
