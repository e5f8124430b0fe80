"""A real `yiju serve` on 127.0.0.1 for the API tests: one per session, stopped by PID at the end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

from tests.server_harness import create_key, prepare_home, server_log, start_server, stop_server  # noqa: E402

ROLES = ("clinic", "curator", "reviewer", "admin")


@dataclass
class Server:
    """A running server: where it listens, its data directory and one key per role."""

    base_url: str
    home: Path
    proc: object
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        """Headers carrying the key of `role`."""
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def log(self) -> str:
        """The server's output so far (for assertion messages)."""
        return server_log(self.home)


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`yiju serve` over a home holding the starter KB, with a key for each role."""
    home = tmp_path_factory.mktemp("service") / "home"
    prepare_home(home)
    keys = {role: create_key(home, role, f"test-{role}") for role in ROLES}
    proc, base_url = start_server(home)
    try:
        yield Server(base_url=base_url, home=home, proc=proc, keys=keys)
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def tight_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with tiny limits (3 anonymous requests/min, 2 kB JSON bodies, 4 kB uploads) for limit tests."""
    home = tmp_path_factory.mktemp("tight") / "home"
    home.mkdir(parents=True)
    (home / "yiju.yaml").write_text(
        "server:\n  public_rate_per_minute: 3\n  max_request_bytes: 2000\n  max_upload_bytes: 4000\n",
        encoding="utf-8",
    )
    keys = {role: create_key(home, role, f"tight-{role}") for role in ROLES}
    proc, base_url = start_server(home)
    try:
        yield Server(base_url=base_url, home=home, proc=proc, keys=keys)
    finally:
        stop_server(proc)
