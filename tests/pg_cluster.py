"""A throw-away PostgreSQL cluster on 127.0.0.1 for tests and benchmarks, started and stopped by PID.

    cluster = PostgresCluster.start()            # initdb into a temp dir, postgres on a free port
    url = cluster.create_database("t1")          # postgresql://yiju@127.0.0.1:PORT/t1
    cluster.stop()                               # SIGINT to the postmaster's PID (fast shutdown), SIGKILL if stuck

Binaries: $YIJU_PG_BIN, else the newest /usr/lib/postgresql/<v>/bin (Debian's `postgresql` package), else
initdb on PATH. PostgreSQL refuses to run as root: when root, the cluster belongs to the `postgres` account
(created by the Debian package) or `nobody`, and the server runs under that uid (Popen(user=…)), so the PID
we hold is the postmaster's own.

`require_postgres()` decides what a test does when no server can be had: CI sets YIJU_REQUIRE_PG=1 and then
it fails loudly; elsewhere a machine without the binaries skips.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REQUIRE_ENV = "YIJU_REQUIRE_PG"
SUPERUSER = "yiju"


def find_bindir() -> Path | None:
    """The folder holding initdb/postgres/pg_ctl, or None."""
    explicit = os.environ.get("YIJU_PG_BIN")
    if explicit and (Path(explicit) / "initdb").exists():
        return Path(explicit)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for bindir in reversed(versions):
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    initdb = shutil.which("initdb")
    if initdb:
        real = Path(initdb).resolve().parent
        if (real / "postgres").exists():
            return real
    return None


def postgres_required() -> bool:
    """True when tests must fail (not skip) without a PostgreSQL server (CI)."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> str | None:
    """The account the server runs under when we are root (postgres refuses root), else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' account exists")


class PostgresCluster:
    """One postmaster process serving a cluster in a temporary folder."""

    def __init__(self, root: Path, bindir: Path, port: int, proc: subprocess.Popen, user: str | None) -> None:
        self.root, self.bindir, self.port, self.proc, self.user = root, bindir, port, proc, user
        self.log = root / "postgres.log"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    @classmethod
    def start(
        cls, root: Path | None = None, *, fsync: bool = False, timeout: float = 60, attempts: int = 3
    ) -> PostgresCluster:
        """initdb into `root/data` and start postgres on a free 127.0.0.1 port (retried on a port race).

        `root` defaults to a new folder under the system temp dir (pytest's own tmp folders are 0700 root,
        which the server's account cannot enter); `stop()` removes it. `fsync=False` suits tests (a crash of
        the machine is not what they test); benchmarks pass True."""
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(
                "PostgreSQL binaries not found (install the Debian package `postgresql`, or set YIJU_PG_BIN)"
            )
        root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="yiju-pg-"))
        root.mkdir(parents=True, exist_ok=True)
        user = _run_as()
        data = root / "data"
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        init = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            user=user,
            cwd=root,
            timeout=120,
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed ({init.returncode}): {init.stderr[-2000:]}")
        last = ""
        for _ in range(attempts):
            port = _free_port()
            log = root / "postgres.log"
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    [
                        str(bindir / "postgres"),
                        "-D",
                        str(data),
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(port),
                        "-k",
                        str(root),
                        "-c",
                        f"fsync={'on' if fsync else 'off'}",
                        "-c",
                        "max_connections=200",
                        "-c",
                        "shared_buffers=64MB",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    user=user,
                    cwd=root,
                    start_new_session=True,
                )
            cluster = cls(root, bindir, port, proc, user)
            if cluster._wait_ready(timeout):
                return cluster
            last = log.read_text(errors="replace")[-2000:]
            cluster.stop()
        raise RuntimeError(f"postgres did not start on 127.0.0.1: {last}")

    def _wait_ready(self, timeout: float) -> bool:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.2)
        return False

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database (its connections are ended first)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self, timeout: float = 20) -> None:
        """Fast shutdown by the postmaster's PID (SIGINT), SIGKILL if it lingers; the folder is removed."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the postmaster and its children (own session)
                self.proc.wait(timeout=timeout)
        shutil.rmtree(self.root, ignore_errors=True)
