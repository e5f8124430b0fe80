"""What the shared rate limit, key check and browser-session look-up cost on PostgreSQL (issue 16 item 3):
is PostgreSQL enough, or would Redis be needed?

    .venv/bin/python bench/shared_limits.py                 # 8 threads x 500 checks each, fsync on

Starts a throw-away PostgreSQL cluster on 127.0.0.1 (tests/pg_cluster.py, stopped by PID), then measures, in
the same run, per-check latency and throughput of: the in-memory RateLimiter (one server), the shared
DatabaseRateLimiter, KeyStore.verify and DatabaseSessions.key_id on PostgreSQL. Clients are spread over
1,000 addresses, as anonymous traffic would be. The comparison that matters is against the service's own
request rate (bench/load.py: tens to ~150 requests/s per process here).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from assistant.api.keys import KeyStore  # noqa: E402
from assistant.api.limits import RateLimiter  # noqa: E402
from assistant.api.shared_state import DatabaseRateLimiter, DatabaseSessions  # noqa: E402
from knowledge.database.postgres import PostgresDatabase  # noqa: E402
from tests.pg_cluster import PostgresCluster  # noqa: E402


def measure(name: str, fn, threads: int, per_thread: int) -> dict:
    """Run fn(i) threads x per_thread times; returns throughput and latency percentiles (ms)."""
    lat: list[float] = []

    def worker(t: int) -> list[float]:
        out = []
        for i in range(per_thread):
            t0 = time.perf_counter()
            fn(t * per_thread + i)
            out.append((time.perf_counter() - t0) * 1000)
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for chunk in pool.map(worker, range(threads)):
            lat.extend(chunk)
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "name": name,
        "per_s": len(lat) / wall,
        "p50": lat[len(lat) // 2],
        "p95": lat[int(len(lat) * 0.95)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--checks", type=int, default=500, help="checks per thread")
    args = parser.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    cluster = PostgresCluster.start(fsync=True)
    try:
        db = PostgresDatabase(cluster.create_database("limits"), max_connections=args.threads)
        memory = RateLimiter(10**9)
        shared = DatabaseRateLimiter(db, 10**9)
        keys = KeyStore(db)
        key, info = keys.create("clinic", "bench")
        sessions = DatabaseSessions(db, ttl_s=3600)
        token = sessions.open(info.key_id)
        rows = [
            measure(
                "memory RateLimiter.check (one server)",
                lambda i: memory.check(f"10.0.{i % 1000}"),
                args.threads,
                args.checks,
            ),
            measure(
                "PostgreSQL DatabaseRateLimiter.check",
                lambda i: shared.check(f"10.0.{i % 1000}"),
                args.threads,
                args.checks,
            ),
            measure("PostgreSQL KeyStore.verify", lambda i: keys.verify(key), args.threads, args.checks),
            measure(
                "PostgreSQL DatabaseSessions.key_id",
                lambda i: sessions.key_id(token),
                args.threads,
                args.checks,
            ),
        ]
        db.close()
    finally:
        cluster.stop()
    table = Table(title=f"shared state on PostgreSQL 15 (fsync on), {args.threads} threads x {args.checks}")
    for col in ("operation", "per second", "p50 ms", "p95 ms"):
        table.add_column(col, justify="left" if col == "operation" else "right")
    for r in rows:
        table.add_row(r["name"], f"{r['per_s']:,.0f}", f"{r['p50']:.2f}", f"{r['p95']:.2f}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
