"""Rate limits and the screens' browser sessions kept in the database, so they hold across replicas.

With one server (SQLite, the default) they live in process memory (`limits.RateLimiter`,
`ui_guard.UiSessions`); with `database: postgresql://…` every replica reads and writes the same rows, so a
client cannot multiply its limit by spreading requests over N replicas, and a browser session opened on
one replica is honoured by the others (a revoked key still ends it: each use re-checks the key).
Both classes work on either backend (the conformance tests run them on both).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from knowledge.database import Database, Migration, Transaction

SHARED_STATE_MIGRATIONS = (
    Migration(
        "shared_0001_rate_hits",
        sqlite="CREATE TABLE rate_hits (client TEXT NOT NULL, at REAL NOT NULL);"
        " CREATE INDEX rate_hits_client ON rate_hits(client, at)",
        postgresql="CREATE TABLE rate_hits (client TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);"
        " CREATE INDEX rate_hits_client ON rate_hits(client, at)",
    ),
    Migration(
        "shared_0002_ui_sessions",
        sqlite="CREATE TABLE ui_sessions (token_hash TEXT PRIMARY KEY, key_id TEXT NOT NULL,"
        " expires_at REAL NOT NULL); CREATE INDEX ui_sessions_expiry ON ui_sessions(expires_at)",
        postgresql="CREATE TABLE ui_sessions (token_hash TEXT PRIMARY KEY, key_id TEXT NOT NULL,"
        " expires_at DOUBLE PRECISION NOT NULL); CREATE INDEX ui_sessions_expiry ON ui_sessions(expires_at)",
    ),
)
SHARED_STATE_TABLE = "shared_state_migrations"


def _db_now(tx: Transaction) -> float:
    """Seconds since the epoch by the database's clock (replicas' clocks may differ; the server's is one)."""
    if tx.dialect == "postgresql":
        return float(tx.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8").fetchone()[0])
    return time.time()


class DatabaseRateLimiter:
    """The sliding window of `limits.RateLimiter`, over rows every replica shares: `per_minute` hits per
    `window_s` per client, whichever replica each request reaches.

    One short transaction per check, serialised per client by a lock inside the database (an advisory
    lock on PostgreSQL), so two replicas cannot both take the last slot. Hits older than the window are
    deleted as the client comes back, and everyone's every `sweep_every` checks, so the table stays small.
    """

    def __init__(self, db: Database, per_minute: int, window_s: float = 60.0, sweep_every: int = 500) -> None:
        self.db = db
        self.per_minute = per_minute
        self.window_s = window_s
        self.sweep_every = sweep_every
        self._checks = 0
        self._lock = threading.Lock()
        db.migrate(SHARED_STATE_MIGRATIONS, SHARED_STATE_TABLE)

    def __len__(self) -> int:
        """How many clients have hits inside the window now."""
        row = self.db.read_one("SELECT COUNT(DISTINCT client) FROM rate_hits")
        return int(row[0])

    def check(self, client: str) -> float | None:
        """Record a hit for `client`; None when allowed, else seconds until a slot frees (→ Retry-After)."""
        if self.per_minute <= 0:
            return None
        with self._lock:
            self._checks += 1
            sweep = self._checks % self.sweep_every == 0
        with self.db.transaction() as tx:
            tx.lock(f"rate:{client}")
            now = _db_now(tx)
            horizon = now - self.window_s
            if sweep:
                tx.execute("DELETE FROM rate_hits WHERE at <= ?", (horizon,))
            else:
                tx.execute("DELETE FROM rate_hits WHERE client = ? AND at <= ?", (client, horizon))
            count, oldest = tx.execute(
                "SELECT COUNT(*), MIN(at) FROM rate_hits WHERE client = ?", (client,)
            ).fetchone()
            if count >= self.per_minute:
                return max(0.0, self.window_s - (now - float(oldest)))
            tx.execute("INSERT INTO rate_hits (client, at) VALUES (?, ?)", (client, now))
            return None


def _token_hash(token: str) -> str:
    # Only a hash is stored: reading the table does not yield a usable cookie.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class DatabaseSessions:
    """`ui_guard.UiSessions` over the database: random token → key id, expiring after `ttl_s`, at most
    `max_sessions` kept (oldest dropped). Tokens are stored hashed."""

    def __init__(self, db: Database, ttl_s: float, max_sessions: int = 10_000) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        db.migrate(SHARED_STATE_MIGRATIONS, SHARED_STATE_TABLE)

    def open(self, key_id: str) -> str:
        """A new session token for `key_id`."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM ui_sessions WHERE expires_at < ?", (now,))
            tx.execute(
                "INSERT INTO ui_sessions (token_hash, key_id, expires_at) VALUES (?, ?, ?)",
                (_token_hash(token), key_id, now + self.ttl_s),
            )
            tx.execute(
                "DELETE FROM ui_sessions WHERE expires_at < (SELECT expires_at FROM ui_sessions"
                " ORDER BY expires_at DESC LIMIT 1 OFFSET ?)",
                (self.max_sessions - 1,),
            )
        return token

    def key_id(self, token: str | None) -> str | None:
        """The key id of a live session, or None."""
        if not token:
            return None
        row = self.db.read_one(
            "SELECT key_id FROM ui_sessions WHERE token_hash = ? AND expires_at >= ?",
            (_token_hash(token), time.time()),
        )
        return row[0] if row else None

    def close(self, token: str | None) -> None:
        """End a session (logout, or the key field emptied)."""
        if token:
            with self.db.transaction() as tx:
                tx.execute("DELETE FROM ui_sessions WHERE token_hash = ?", (_token_hash(token),))
