"""What every backend of the database helper shares: errors, named migrations, the write-transaction handle.

SQL is written once with `?` placeholders and portable statements (`INSERT … ON CONFLICT … DO …`,
`RETURNING`, `LIKE … ESCAPE`); the PostgreSQL backend rewrites the placeholders for psycopg. Where the
two dialects really differ (column types, triggers), a migration gives one script per dialect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from knowledge.errors import YijuError

Dialect = Literal["sqlite", "postgresql"]
DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgresql")


class DatabaseError(YijuError):
    """A database operation failed (the message names the database; the driver's error is the cause)."""


class IntegrityError(DatabaseError):
    """A constraint or an append-only trigger refused the change; nothing of the transaction was kept."""


class UniqueViolation(IntegrityError):
    """A row with the same key already exists."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached or opened (server down, file not creatable, pool exhausted)."""


class Cursor(Protocol):
    """The part of a DB-API cursor the stores use (sqlite3 and psycopg cursors both fit)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Transaction(Protocol):
    """The handle a write transaction yields: statements run inside it, committed together or not at all."""

    dialect: Dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def lock(self, name: str) -> None: ...


Step = str | Callable[[Transaction], None]


@dataclass(frozen=True)
class Migration:
    """One named schema change. `sqlite` / `postgresql`: a ';'-separated script (triggers may hold ';' inside
    BEGIN … END / $$ … $$) or a function of the open transaction. `both` serves both dialects."""

    name: str
    sqlite: Step | None = None
    postgresql: Step | None = None
    both: Step | None = None

    def step(self, dialect: Dialect) -> Step:
        """The script or function for `dialect`."""
        chosen = self.both if self.both is not None else getattr(self, dialect)
        if chosen is None:
            raise DatabaseError(f"migration {self.name} has nothing for {dialect}")
        return chosen


def utc_now() -> str:
    """The time stamps the stores write: UTC ISO 8601 with microseconds (they sort as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Database:
    """The interface every store uses; `SqliteDatabase` and `PostgresDatabase` implement it.

    - `transaction()`: a write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: READ COMMITTED), committed
      when the block ends, rolled back on any error. Nested blocks become savepoints.
    - `read()` / `read_one()`: a query outside a transaction (inside one on the same thread, it runs in it).
    - `migrate(migrations, table)`: apply named migrations in order, each once, recorded in `table`; safe
      when several processes start at the same time (SQLite: the write lock; PostgreSQL: an advisory lock).
    Rows read back support `row["column"]`, `row[0]` and `dict(row)`.
    """

    dialect: Dialect
    where: str  # the file or the server, for messages (never a password)

    def transaction(self) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def read_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.read(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        raise NotImplementedError

    def table_exists(self, name: str) -> bool:
        raise NotImplementedError

    def columns(self, table: str) -> set[str]:
        """The column names of `table` (empty when it does not exist)."""
        raise NotImplementedError

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------- migrations

    def migrate(
        self,
        migrations: Sequence[Migration],
        table: str = "schema_migrations",
        *,
        adopt: Callable[[Transaction, set[str]], set[str]] | None = None,
    ) -> list[str]:
        """Apply every migration not yet recorded in `table`, in order, each in its own transaction;
        returns the names applied now. `adopt(tx, done)` may mark migrations as already applied (a database
        made before its migrations were recorded) and returns the new set."""
        _check_identifier(table)
        names = [m.name for m in migrations]
        if len(set(names)) != len(names):
            raise DatabaseError(f"duplicate migration names in {names}")
        applied: list[str] = []
        with self.transaction() as tx:
            tx.lock(f"migrate:{table}")
            tx.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            if adopt is not None:
                done = {r[0] for r in tx.execute(f"SELECT name FROM {table}").fetchall()}
                for name in sorted(adopt(tx, set(done)) - done):
                    tx.execute(f"INSERT INTO {table} (name, applied_at) VALUES (?, ?)", (name, utc_now()))
        for migration in migrations:
            with self.transaction() as tx:
                tx.lock(f"migrate:{table}")  # another process may be migrating the same database now
                if tx.execute(f"SELECT 1 FROM {table} WHERE name = ?", (migration.name,)).fetchone():
                    continue
                step = migration.step(self.dialect)
                if callable(step):
                    step(tx)
                else:
                    for statement in split_statements(step):
                        tx.execute(statement)
                tx.execute(
                    f"INSERT INTO {table} (name, applied_at) VALUES (?, ?)", (migration.name, utc_now())
                )
                applied.append(migration.name)
        return applied

    def applied_migrations(self, table: str = "schema_migrations") -> list[tuple[str, str]]:
        """(name, applied_at) of every migration recorded in `table`, in the order applied."""
        _check_identifier(table)
        if not self.table_exists(table):
            return []
        rows = self.read(f"SELECT name, applied_at FROM {table} ORDER BY applied_at, name")
        return [(r[0], r[1]) for r in rows]


def split_statements(script: str) -> list[str]:
    """Split a migration script on ';' outside quotes, `BEGIN … END` trigger bodies and `$$ … $$` blocks."""
    statements: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    dollar = False
    depth = 0  # BEGIN … END nesting (SQLite trigger bodies)
    i, n = 0, len(script)
    while i < n:
        ch = script[i]
        if dollar:
            if script.startswith("$$", i):
                dollar = False
                buf.append("$$")
                i += 2
                continue
        elif quote:
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif script.startswith("$$", i):
            dollar = True
            buf.append("$$")
            i += 2
            continue
        elif ch.isalpha() and (i == 0 or not (script[i - 1].isalnum() or script[i - 1] == "_")):
            j = i
            while j < n and (script[j].isalnum() or script[j] == "_"):
                j += 1
            word = script[i:j].upper()
            if word == "BEGIN":
                depth += 1
            elif word == "END" and depth:
                depth -= 1
            buf.append(script[i:j])
            i = j
            continue
        elif ch == ";" and depth == 0:
            statement = "".join(buf).strip()
            if statement:
                statements.append(statement)
            buf = []
            i += 1
            continue
        buf.append(ch)
        i += 1
    tail = "".join(buf).strip()
    if tail:
        statements.append(tail)
    return statements


def _check_identifier(name: str) -> None:
    if not name.replace("_", "").isalnum() or not name[0].isalpha() and name[0] != "_":
        raise DatabaseError(f"not a plain table name: {name!r}")


class ThreadDepth(threading.local):
    """Per-thread transaction state of one Database object (the connection in use and the nesting depth)."""

    conn: Any = None
    depth: int = 0
