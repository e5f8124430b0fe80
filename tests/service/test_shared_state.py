"""Keys, rate limits and browser sessions hold across replicas (issue 16 item 3): one conformance suite,
run against SQLite and a real PostgreSQL. Each "replica" has its own connection (pool), as two servers would."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.api.keys import KeyStore, KeyStoreError
from assistant.api.shared_state import DatabaseRateLimiter, DatabaseSessions
from knowledge.database import Database, open_database


def _replica_db(target: str) -> Database:
    if target.startswith("postgresql://"):
        from knowledge.database.postgres import PostgresDatabase

        return PostgresDatabase(target, max_connections=4)  # its own pool, as another process would have
    return open_database(target)


@pytest.fixture
def two_replicas(db_target: str):
    a, b = _replica_db(db_target), _replica_db(db_target)
    yield a, b
    a.close()
    b.close()


def test_key_revoked_on_one_replica_is_refused_on_the_other(two_replicas) -> None:
    a, b = two_replicas
    keys_a, keys_b = KeyStore(a), KeyStore(b)
    key, info = keys_a.create("reviewer", "alice")
    assert keys_b.verify(key) is not None
    assert keys_b.verify(key + "x") is None
    with pytest.raises(KeyStoreError, match="already exists"):
        keys_b.create("clinic", "alice")
    assert keys_b.revoke("alice") == 1
    assert keys_a.verify(key) is None
    assert keys_a.active(info.key_id) is None
    assert [k.revoked for k in keys_a.list()] == [True]
    assert keys_a.revoke("alice") == 0


def test_concurrent_creates_of_one_name_leave_one_key(two_replicas) -> None:
    a, b = two_replicas
    stores = [KeyStore(a), KeyStore(b)]
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def create(i: int) -> None:
        barrier.wait()
        try:
            stores[i % 2].create("clinic", "same-name")
            outcomes.append("ok")
        except KeyStoreError:
            outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * 5
    assert len(stores[0].list()) == 1


def test_rate_limit_is_shared_by_replicas(two_replicas) -> None:
    a, b = two_replicas
    limit_a, limit_b = DatabaseRateLimiter(a, 5, window_s=60), DatabaseRateLimiter(b, 5, window_s=60)
    allowed = [limit_a.check("1.2.3.4") is None for _ in range(3)] + [
        limit_b.check("1.2.3.4") is None for _ in range(2)
    ]
    assert allowed == [True] * 5
    retry = limit_a.check("1.2.3.4")
    assert retry is not None and 0 < retry <= 60
    assert limit_b.check("1.2.3.4") is not None
    assert limit_b.check("5.6.7.8") is None  # another client has its own window
    assert len(limit_a) == 2


def test_concurrent_checks_never_exceed_the_limit(two_replicas) -> None:
    a, b = two_replicas
    limiters = [DatabaseRateLimiter(a, 7), DatabaseRateLimiter(b, 7)]
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def hit(i: int) -> None:
        barrier.wait()
        results.append(limiters[i % 2].check("burst") is None)

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 7


def test_window_slides_and_idle_clients_are_swept(two_replicas) -> None:
    a, _ = two_replicas
    limiter = DatabaseRateLimiter(a, 2, window_s=0.5, sweep_every=4)
    assert limiter.check("x") is None and limiter.check("x") is None
    assert limiter.check("x") is not None
    time.sleep(0.6)
    assert limiter.check("y") is None  # fourth check since start: sweeps x's old hits
    assert len(limiter) == 1
    assert limiter.check("x") is None


def test_browser_session_opened_on_one_replica_works_on_the_other(two_replicas) -> None:
    a, b = two_replicas
    sessions_a, sessions_b = DatabaseSessions(a, ttl_s=60), DatabaseSessions(b, ttl_s=60)
    token = sessions_a.open("key123")
    assert sessions_b.key_id(token) == "key123"
    assert sessions_b.key_id(token + "x") is None
    assert sessions_b.key_id(None) is None
    stored = a.read("SELECT token_hash FROM ui_sessions")
    assert token not in {r[0] for r in stored}  # only a hash is stored
    sessions_b.close(token)
    assert sessions_a.key_id(token) is None


def test_sessions_expire_and_stay_bounded(two_replicas) -> None:
    a, _ = two_replicas
    short = DatabaseSessions(a, ttl_s=0.2, max_sessions=3)
    old = short.open("k0")
    time.sleep(0.3)
    assert short.key_id(old) is None
    tokens = [short.open(f"k{i}") for i in range(1, 6)]
    assert [short.key_id(t) for t in tokens] == [None, None, "k3", "k4", "k5"]
    assert a.read_one("SELECT COUNT(*) FROM ui_sessions")[0] == 3
