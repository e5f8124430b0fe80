"""Shared test set-up: offline environment, the ../shared folder, a per-test data directory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Put the repo root first on the path, once, before importing yiju: under plain `pytest` the test folders
# (tests/assistant, tests/knowledge …) would otherwise shadow the packages, and tests import shared
# helpers as `tests.server_harness`. `python -m pytest` already has it; this makes both work.
if sys.path[:1] != [str(REPO_ROOT)]:
    sys.path.insert(0, str(REPO_ROOT))

from assistant.home import apply_offline_env  # noqa: E402 - needs the path above

apply_offline_env()

SHARED = REPO_ROOT.parent / "shared"
LAWS_DIR = SHARED / "corpus" / "laws"
EVAL_DIR = SHARED / "eval"
ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture
def shared_laws() -> Path:
    """../shared/corpus/laws, or skip the test cleanly when it is absent."""
    if not LAWS_DIR.is_dir():
        pytest.skip("../shared/corpus/laws is not present")
    return LAWS_DIR


@pytest.fixture
def yiju_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory, exported as $YIJU_HOME for code that resolves it."""
    home = tmp_path / "yiju-home"
    home.mkdir()
    monkeypatch.setenv("YIJU_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests drop screenshots and other artifacts worth keeping."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# ------------------------------------------------------------------------------------- PostgreSQL (issue 16)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throw-away PostgreSQL cluster on 127.0.0.1 for the whole run (tests/pg_cluster.py), stopped by PID.

    Without the binaries it skips — unless YIJU_REQUIRE_PG is set (CI), where it fails loudly; a cluster
    that cannot start always fails."""
    from tests.pg_cluster import PostgresCluster, find_bindir, postgres_required

    if find_bindir() is None and not postgres_required():
        pytest.skip("PostgreSQL binaries not installed (CI installs the `postgresql` package)")
    try:
        cluster = PostgresCluster.start()
    except Exception as exc:  # noqa: BLE001 - reported as a failure, never a skip
        pytest.fail(f"could not start a PostgreSQL cluster: {exc}", pytrace=False)
    yield cluster
    cluster.stop()


_pg_databases = iter(range(1, 1_000_000))


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """The URL of a fresh, empty database in the session's cluster (dropped after the test)."""
    name = f"t{next(_pg_databases)}"
    url = pg_cluster.create_database(name)
    yield url
    pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store under test keeps its data: a SQLite file, then a fresh PostgreSQL database — the
    conformance suites run every test once per backend."""
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite")
    return request.getfixturevalue("pg_url")
