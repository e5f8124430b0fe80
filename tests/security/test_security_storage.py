"""Issue 14 item 5 (storage): the databases and exports are owner-only (0600), WAL/SHM included,
whatever the umask.

Before: audit.sqlite, keys.sqlite, kb.sqlite, their -wal/-shm files and `yiju audit export` files were
created with the process umask (0644 under the usual 022): readable by every account on the machine.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Run in a child with the given umask: every store opened, a turn recorded, an export written, and the
# file modes read while the connections (and so the -wal/-shm files) are still open.
CHILD = r"""
import json, os, sys
from pathlib import Path
os.umask(int(sys.argv[2], 8))
home = Path(sys.argv[1])
from assistant.api.keys import KeyStore
from knowledge.kb import KnowledgeBase
from safety.audit import SqliteAuditStore
from safety.types import Turn

keys = KeyStore(home / "keys.sqlite")
keys.create("clinic", "storage-test")
kb = KnowledgeBase.open(home)
audit = SqliteAuditStore(home / "audit.sqlite")
audit.record(Turn(domain="legal", question="我的电话是13712345678", status="answered"))
audit.export(home / "exports" / "audit.csv", "csv")
audit.export(home / "exports" / "audit.jsonl", "jsonl")
modes = {p.name: oct(p.stat().st_mode & 0o777) for p in sorted(home.rglob("*"))
         if p.is_file() and (".sqlite" in p.name or p.parent.name == "exports")}
print(json.dumps(modes))
"""


@pytest.mark.parametrize("umask", ["000", "022"])
def test_databases_and_exports_are_owner_only(tmp_path: Path, umask: str) -> None:
    from tests.server_harness import OFFLINE_ENV

    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), umask],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **OFFLINE_ENV, "PYTHONPATH": str(REPO_ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    modes = json.loads(done.stdout.strip().splitlines()[-1])
    for name in ("audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm", "keys.sqlite", "kb.sqlite"):
        assert name in modes, (name, modes)
    assert "audit.csv" in modes and "audit.jsonl" in modes, modes
    loose = {name: mode for name, mode in modes.items() if mode != "0o600"}
    assert not loose, loose


def test_old_world_readable_database_is_tightened(tmp_path: Path) -> None:
    from safety.audit import SqliteAuditStore

    path = tmp_path / "audit.sqlite"
    SqliteAuditStore(path).close()
    for p in tmp_path.glob("audit.sqlite*"):
        p.chmod(0o644)
    with SqliteAuditStore(path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.server
def test_served_home_is_owner_only(sec_server: Any) -> None:
    # The running server has answered and audited by now; its databases were created by `yiju serve`.
    httpx.post(f"{sec_server.base_url}/v1/ask", json={"question": "经济补偿怎么计算？"}, timeout=60)
    files = [p for p in sec_server.home.glob("*.sqlite*") if p.is_file()]
    assert {p.name for p in files} >= {"audit.sqlite", "keys.sqlite", "kb.sqlite"}, files
    loose = {
        p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files if stat.S_IMODE(p.stat().st_mode) != 0o600
    }
    assert not loose, loose
