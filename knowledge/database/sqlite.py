"""The embedded backend: one SQLite file, owner-only, WAL, a busy timeout, one connection per thread.

Writes run in `BEGIN IMMEDIATE` transactions (the write lock is taken up front, so two writers never
deadlock on an upgrade) and are serialised inside the process by a lock, which spares SQLite's busy-retry
spins; other processes (a CLI reviewer beside the server) wait up to the busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from knowledge.database.core import (
    Database,
    DatabaseError,
    DatabaseUnavailable,
    Dialect,
    IntegrityError,
    ThreadDepth,
    Transaction,
    UniqueViolation,
    _check_identifier,
)
from knowledge.private_files import private_database


def translate_error(exc: sqlite3.Error, where: str) -> DatabaseError:
    """The helper's error for a sqlite3 error (the message keeps SQLite's words and names the file)."""
    text = f"{where}: {exc}"
    if isinstance(exc, sqlite3.IntegrityError):
        if "UNIQUE constraint failed" in str(exc):
            return UniqueViolation(text)
        return IntegrityError(text)
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
        return DatabaseUnavailable(text)
    return DatabaseError(text)


class _SqliteTransaction:
    dialect: Dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def lock(self, name: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE already holds the database's one write lock."""


class SqliteDatabase(Database):
    """A SQLite file shared by the threads of this process and by other processes."""

    dialect: Dialect = "sqlite"

    def __init__(
        self,
        path: Path,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout_s: float = 30.0,
        foreign_keys: bool = True,
    ) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._synchronous = synchronous
        self._busy_timeout_s = busy_timeout_s
        self._foreign_keys = foreign_keys
        self._local = ThreadDepth()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._write_lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            private_database(self.path)  # 0600, -wal/-shm included: stores hold people's words and key hashes
        except OSError as e:
            raise DatabaseUnavailable(f"cannot create database {self.path}: {e}") from e

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn = self._local.conn
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
                )
                conn.row_factory = sqlite3.Row
                _use_wal(conn, self._busy_timeout_s)
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
                conn.execute(f"PRAGMA foreign_keys={'ON' if self._foreign_keys else 'OFF'}")
                conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
            except sqlite3.Error as e:
                raise DatabaseUnavailable(f"cannot open database {self.path}: {e}") from e
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        conn = self.connection()
        depth = self._local.depth
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT sp{depth}")
            except sqlite3.Error as e:
                raise translate_error(e, self.where) from e
            self._local.depth = depth + 1
            try:
                yield _SqliteTransaction(conn)
            except BaseException as exc:
                self._local.depth = depth
                try:
                    conn.execute("ROLLBACK" if depth == 0 else f"ROLLBACK TO sp{depth}")
                    if depth:
                        conn.execute(f"RELEASE sp{depth}")
                except sqlite3.Error:
                    pass
                if isinstance(exc, sqlite3.Error):
                    raise translate_error(exc, self.where) from exc
                raise
            self._local.depth = depth
            try:
                conn.execute("COMMIT" if depth == 0 else f"RELEASE sp{depth}")
            except sqlite3.Error as e:
                if depth == 0:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise translate_error(e, self.where) from e

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self.connection().execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as e:
            raise translate_error(e, self.where) from e

    def table_exists(self, name: str) -> bool:
        return (
            self.read_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
            is not None
        )

    def columns(self, table: str) -> set[str]:
        _check_identifier(table)
        return {r["name"] for r in self.read(f"PRAGMA table_info({table})")}

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        with self._all_lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = ThreadDepth()


def _use_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Switch the file to WAL, waiting for other openers as the busy timeout says.

    Changing the journal mode needs the file to itself, and SQLite answers 'database is locked' at once rather
    than calling the busy handler while another connection (another replica starting, a CLI beside the server)
    is opening or converting the same new file: three stores opened at the same instant failed one time in
    three here. Once the file is WAL (the mode is persistent) nothing is changed, so only the first opening
    ever waits."""
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
