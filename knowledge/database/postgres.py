"""The shared backend: a PostgreSQL server reached through psycopg 3 and a psycopg_pool connection pool.

Several `yiju serve` replicas point at one database: every write is a READ COMMITTED transaction, the
guarantees that need more (a review decided once, migrations applied once) come from conditional
updates, constraints, triggers and advisory locks inside the database, never from a process lock.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from knowledge.database.core import (
    Database,
    DatabaseError,
    DatabaseUnavailable,
    Dialect,
    IntegrityError,
    ThreadDepth,
    Transaction,
    UniqueViolation,
)

_QMARK = re.compile(r"'(?:[^']|'')*'|\?|%")


@lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> str:
    """`?` placeholders (outside quoted literals) as psycopg's `%s`; a literal `%` doubled."""
    return _QMARK.sub(
        lambda m: "%s" if m.group() == "?" else "%%" if m.group() == "%" else m.group().replace("%", "%%"),
        sql,
    )


class Row(tuple):
    """A result row like sqlite3.Row: `row[0]`, `row["name"]`, `row.keys()`, `dict(row)`."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            try:
                key = self._index[key]
            except KeyError:
                raise IndexError(f"no column named {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: Any):
    description = cursor.description or []
    index = {column.name: i for i, column in enumerate(description)}

    def make(values: Sequence[Any]) -> Row:
        return Row(values, index)

    return make


def translate_error(exc: Exception, where: str) -> DatabaseError:
    """The helper's error for a psycopg / pool error."""
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg_pool import PoolTimeout

    text = f"{where}: {str(exc).strip()}"
    if isinstance(exc, pg_errors.UniqueViolation):
        return UniqueViolation(text)
    if isinstance(exc, psycopg.IntegrityError):
        return IntegrityError(text)
    if isinstance(exc, PoolTimeout | psycopg.OperationalError):
        return DatabaseUnavailable(text)
    return DatabaseError(text)


def describe_url(url: str) -> str:
    """`postgresql://host:port/dbname` without user or password, for messages and logs."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - a malformed URL is reported by connect itself
        return "postgresql://?"
    return (
        f"postgresql://{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"
    )


class _PgTransaction:
    dialect: Dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(to_pyformat(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(to_pyformat(sql), [tuple(r) for r in rows])

    def lock(self, name: str) -> None:
        """Hold a database-wide lock named `name` until this transaction ends (every replica sees it)."""
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))


class PostgresDatabase(Database):
    """A pool of connections to one PostgreSQL database, shared by the threads of this process."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, *, max_connections: int = 10, connect_timeout_s: float = 10.0) -> None:
        try:
            from psycopg_pool import ConnectionPool
        except ImportError as e:  # pragma: no cover - psycopg is a dependency
            raise DatabaseUnavailable(
                "database: postgresql needs the psycopg and psycopg-pool packages"
            ) from e
        self.url = url
        self.where = describe_url(url)
        self._local = ThreadDepth()
        self._refs = 1
        self._refs_lock = threading.Lock()

        def configure(conn: Any) -> None:
            conn.row_factory = _row_factory

        try:
            self.pool = ConnectionPool(
                url,
                min_size=1,
                max_size=max(1, max_connections),
                kwargs={"autocommit": True, "application_name": "yiju", "connect_timeout": 5},
                configure=configure,
                check=ConnectionPool.check_connection,  # a server restart leaves dead connections behind
                timeout=connect_timeout_s,
                open=False,
                name="yiju",
            )
            self.pool.open(wait=True, timeout=connect_timeout_s)
        except Exception as e:  # noqa: BLE001 - psycopg and pool errors alike
            raise DatabaseUnavailable(f"cannot connect to {self.where}: {str(e).strip()}") from e

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._local.conn is not None:
            yield self._local.conn
            return
        try:
            with self.pool.connection() as conn:
                yield conn
        except DatabaseError:
            raise
        except Exception as e:
            if _is_driver_error(e):
                raise translate_error(e, self.where) from e
            raise

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._connection() as conn:
            outer = self._local.conn is None
            self._local.conn = conn
            self._local.depth += 1
            try:
                with conn.transaction():  # BEGIN … COMMIT; nested: a savepoint
                    yield _PgTransaction(conn)
            except DatabaseError:
                raise
            except Exception as e:
                if _is_driver_error(e):
                    raise translate_error(e, self.where) from e
                raise
            finally:
                self._local.depth -= 1
                if outer:
                    self._local.conn = None

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._connection() as conn:
            try:
                return conn.execute(to_pyformat(sql), tuple(params)).fetchall()
            except Exception as e:
                if _is_driver_error(e):
                    raise translate_error(e, self.where) from e
                raise

    def table_exists(self, name: str) -> bool:
        return bool(self.read_one("SELECT to_regclass(?) IS NOT NULL", (name,))[0])

    def columns(self, table: str) -> set[str]:
        rows = self.read(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
        return {r[0] for r in rows}

    def acquire(self) -> PostgresDatabase:
        """One more user of this shared pool (see `open_database`)."""
        with self._refs_lock:
            self._refs += 1
        return self

    def close(self) -> None:
        """Give up this user's share; the pool closes when the last one does."""
        with self._refs_lock:
            self._refs -= 1
            last = self._refs <= 0
        if last:
            _forget(self)
            self.pool.close()


def _is_driver_error(exc: Exception) -> bool:
    import psycopg
    from psycopg_pool import PoolTimeout

    return isinstance(exc, psycopg.Error | PoolTimeout)


_SHARED: dict[str, PostgresDatabase] = {}
_SHARED_LOCK = threading.Lock()


def shared_postgres(url: str, *, max_connections: int = 10) -> PostgresDatabase:
    """The process's pool for `url` (created on first use): the audit, key, session, limit and knowledge
    stores of one server share it. Each caller closes its share."""
    with _SHARED_LOCK:
        db = _SHARED.get(url)
        if db is not None:
            return db.acquire()
        db = PostgresDatabase(url, max_connections=max_connections)
        _SHARED[url] = db
        return db


def _forget(db: PostgresDatabase) -> None:
    with _SHARED_LOCK:
        if _SHARED.get(db.url) is db:
            del _SHARED[db.url]
