"""The database helper (knowledge/database): one conformance suite, run against SQLite and a real PostgreSQL."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from knowledge.database import (
    Database,
    DatabaseUnavailable,
    IntegrityError,
    Migration,
    UniqueViolation,
    open_database,
    split_statements,
)

MIGRATIONS = [
    Migration(
        "0001_items",
        sqlite="CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
        " state TEXT NOT NULL DEFAULT 'open', note TEXT NOT NULL DEFAULT '')",
        postgresql="CREATE TABLE items (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " state TEXT NOT NULL DEFAULT 'open', note TEXT NOT NULL DEFAULT '')",
    ),
    Migration(
        "0002_log_append_only",
        sqlite="""
        CREATE TABLE log (n INTEGER NOT NULL, text TEXT NOT NULL);
        CREATE TRIGGER log_no_update BEFORE UPDATE ON log
        BEGIN SELECT RAISE(ABORT, 'log is append-only'); END;
        """,
        postgresql="""
        CREATE TABLE log (n INTEGER NOT NULL, text TEXT NOT NULL);
        CREATE FUNCTION log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'log is append-only' USING ERRCODE = 'integrity_constraint_violation'; END; $$;
        CREATE TRIGGER log_no_update BEFORE UPDATE ON log FOR EACH ROW EXECUTE FUNCTION log_append_only();
        """,
    ),
]


@pytest.fixture
def db(db_target: str):
    database = open_database(db_target)
    database.migrate(MIGRATIONS, "test_migrations")
    yield database
    database.close()


def test_migrations_are_named_and_applied_once(db: Database, db_target: str) -> None:
    assert [name for name, _ in db.applied_migrations("test_migrations")] == [
        "0001_items",
        "0002_log_append_only",
    ]
    assert db.migrate(MIGRATIONS, "test_migrations") == []
    more = [*MIGRATIONS, Migration("0003_extra", both="ALTER TABLE items ADD COLUMN extra TEXT")]
    other = open_database(db_target)  # as another store / replica would
    try:
        assert other.migrate(more, "test_migrations") == ["0003_extra"]
    finally:
        other.close()
    assert db.migrate(more, "test_migrations") == []


def test_concurrent_migrations_apply_once(db_target: str) -> None:
    """Two replicas starting at once: each migration runs exactly once, neither start fails."""
    migrations = [Migration(f"m{i}", both=f"CREATE TABLE t{i} (x INTEGER)") for i in range(5)]
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def start() -> None:
        database = open_database(db_target) if "postgresql" not in db_target else _fresh_pool(db_target)
        try:
            results.append(database.migrate(migrations, "race_migrations"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(name for r in results for name in r) == [f"m{i}" for i in range(5)]


def _fresh_pool(url: str) -> Database:
    from knowledge.database.postgres import PostgresDatabase

    return PostgresDatabase(url, max_connections=2)


def test_transaction_commits_or_keeps_nothing(db: Database) -> None:
    with db.transaction() as tx:
        tx.execute("INSERT INTO items (name) VALUES (?)", ("a",))
        assert tx.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 1
        assert db.read_one("SELECT name FROM items")["name"] == "a"  # same thread: inside the transaction
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            tx.execute("INSERT INTO items (name) VALUES (?)", ("b",))
            raise RuntimeError("boom")
    assert [r["name"] for r in db.read("SELECT name FROM items ORDER BY id")] == ["a"]


def test_nested_transaction_is_a_savepoint(db: Database) -> None:
    with db.transaction() as tx:
        tx.execute("INSERT INTO items (name) VALUES (?)", ("outer",))
        with pytest.raises(UniqueViolation):
            with db.transaction() as inner:
                inner.execute("INSERT INTO items (name) VALUES (?)", ("inner",))
                inner.execute("INSERT INTO items (name) VALUES (?)", ("outer",))
    assert [r[0] for r in db.read("SELECT name FROM items")] == ["outer"]


def test_errors_are_the_helpers(db: Database) -> None:
    with db.transaction() as tx:
        tx.execute("INSERT INTO items (name) VALUES (?)", ("x",))
        tx.execute("INSERT INTO log (n, text) VALUES (?, ?)", (1, "first"))
    with pytest.raises(UniqueViolation, match=db.where):
        with db.transaction() as tx:
            tx.execute("INSERT INTO items (name) VALUES (?)", ("x",))
    with pytest.raises(IntegrityError, match="append-only"):
        with db.transaction() as tx:
            tx.execute("UPDATE log SET text = ?", ("changed",))
    assert db.read_one("SELECT text FROM log")[0] == "first"


def test_rows_and_placeholders(db: Database) -> None:
    with db.transaction() as tx:
        row = tx.execute(
            "INSERT INTO items (name, note) VALUES (?, '100% sure?') RETURNING id, name", ("p%q?",)
        ).fetchone()
    assert row["name"] == row[1] == "p%q?"
    found = db.read_one("SELECT id, name, note FROM items WHERE name LIKE ? ESCAPE '\\'", ("p\\%q%",))
    assert dict(found) == {"id": row["id"], "name": "p%q?", "note": "100% sure?"}
    assert list(found.keys()) == ["id", "name", "note"]


def test_exactly_one_conditional_update_wins(db: Database) -> None:
    """The review queue's rule: many deciders at once, one row changes, the others see rowcount 0."""
    with db.transaction() as tx:
        tx.execute("INSERT INTO items (name) VALUES ('contested')")
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def decide(i: int) -> None:
        barrier.wait()
        with db.transaction() as tx:
            cur = tx.execute(
                "UPDATE items SET state = ?, note = ? WHERE name = 'contested' AND state = 'open'",
                ("done", str(i)),
            )
            if cur.rowcount == 1:
                wins.append(i)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert db.read_one("SELECT note FROM items WHERE name = 'contested'")[0] == str(wins[0])


def test_split_statements_keeps_trigger_and_function_bodies() -> None:
    script = MIGRATIONS[1].postgresql + MIGRATIONS[1].sqlite  # type: ignore[operator]
    parts = split_statements(script)
    assert len(parts) == 5
    assert parts[1].startswith("CREATE FUNCTION") and parts[1].endswith("$$")
    assert parts[4].startswith("CREATE TRIGGER log_no_update BEFORE UPDATE ON log\n") and parts[4].endswith(
        "END"
    )


def test_sqlite_file_is_private(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        database = open_database(tmp_path / "x.sqlite")
        database.migrate(MIGRATIONS, "test_migrations")
    finally:
        os.umask(old)
    assert (tmp_path / "x.sqlite").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "x.sqlite-wal").stat().st_mode & 0o777 == 0o600
    database.close()


def test_unreachable_server_is_a_clear_error() -> None:
    from knowledge.database.postgres import PostgresDatabase
    from tests.server_harness import free_port

    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1"):
        PostgresDatabase(f"postgresql://nobody@127.0.0.1:{free_port()}/x", connect_timeout_s=2)
