"""Several `yiju serve` replicas on one PostgreSQL database and one Chroma server, for tests and benchmarks.

    replicas = ReplicaSet(root, database_url, n=2)      # the database: tests/pg_cluster.py
    replicas.start()                                     # chroma run + starter KB + n servers on 127.0.0.1
    key = replicas.create_key("clinic", "c1")            # in the shared database
    replicas.urls                                         # ["http://127.0.0.1:P1", "http://127.0.0.1:P2"]
    replicas.stop()                                      # every server, then chroma, by PID

Each replica has its own data directory with a yiju.yaml naming the shared database and the Chroma server,
as separate machines would: the knowledge manifest and the trained embedder are in the database, so
replica 0's import is what every replica serves (nothing is copied between data directories).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.server_harness import (
    OFFLINE_ENV,
    REPO_ROOT,
    ChromaServer,
    free_port,
    kill_server,
    start_server,
    stop_server,
)


def replica_config(database_url: str, chroma_port: int, **server: object) -> dict:
    """The yiju.yaml of one replica (the README recipe's, with test ports)."""
    config: dict = {
        "database": database_url,
        "knowledge": {"store": {"kind": "chroma_http", "host": "127.0.0.1", "port": chroma_port}},
    }
    if server:
        config["server"] = dict(server)
    return config


def run_cli(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m assistant <args>` for `home` (its yiju.yaml applies); raises on failure."""
    env = {**os.environ, **OFFLINE_ENV, "YIJU_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"yiju {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done


class ReplicaSet:
    """n replicas sharing one database and one Chroma server."""

    def __init__(self, root: Path, database_url: str, n: int = 2, **server_options: object) -> None:
        self.root = Path(root)
        self.database_url = database_url
        self.n = n
        self.server_options = server_options
        self.chroma = ChromaServer(free_port(), self.root / "chroma-data", self.root / "chroma.log")
        self.homes = [self.root / f"replica{i}" for i in range(n)]
        self.procs: list[subprocess.Popen | None] = [None] * n
        self.urls: list[str] = [""] * n

    def start(self, extra_import: Path | None = None) -> ReplicaSet:
        """Start Chroma, import the starter KB (and `extra_import`) through replica 0, start every server."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.chroma.start()
        for home in self.homes:
            home.mkdir(parents=True, exist_ok=True)
            config = replica_config(self.database_url, self.chroma.port, **self.server_options)
            (home / "yiju.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        run_cli(self.homes[0], "kb", "import", "--starter")
        if extra_import is not None:
            run_cli(self.homes[0], "kb", "import", str(extra_import))
        for i in range(self.n):
            self.start_replica(i)
        return self

    def start_replica(self, i: int) -> str:
        """(Re)start replica i; returns its base URL."""
        self.procs[i], self.urls[i] = start_server(self.homes[i], free_port())
        return self.urls[i]

    def kill(self, i: int) -> None:
        """SIGKILL replica i by PID (a crash)."""
        proc = self.procs[i]
        if proc is not None:
            kill_server(proc)

    def create_key(self, role: str, name: str) -> str:
        """A key in the shared database (what `yiju keys create` on any replica does)."""
        from assistant.api.keys import KeyStore
        from knowledge.database.postgres import PostgresDatabase

        db = PostgresDatabase(self.database_url, max_connections=1)
        try:
            key, _ = KeyStore(db).create(role, name)
        finally:
            db.close()
        return key

    def stop(self) -> None:
        """Stop every server (SIGTERM, then SIGKILL) and the Chroma server, by PID."""
        for proc in self.procs:
            if proc is not None:
                stop_server(proc)
        self.chroma.stop()
