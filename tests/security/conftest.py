"""One real `yiju serve` (starter KB, a key per role, a small upload limit) shared by the security tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

from tests.server_harness import create_key, prepare_home, server_log, start_server, stop_server  # noqa: E402

ROLES = ("clinic", "curator", "reviewer", "admin")
UPLOAD_LIMIT = 50_000


@dataclass
class SecServer:
    """A running server: URL, data directory and one key per role."""

    base_url: str
    home: Path
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        """Headers carrying the key of `role`."""
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def client(self, role: str | None = None) -> httpx.Client:
        """An httpx client for the server, authenticated as `role` (anonymous when None)."""
        return httpx.Client(base_url=self.base_url, headers=self.auth(role) if role else {}, timeout=60)

    def log(self) -> str:
        """Server output so far (for assertion messages)."""
        return server_log(self.home)[-3000:]

    def log_full(self) -> str:
        """All server output so far."""
        return server_log(self.home)


@pytest.fixture(scope="session")
def sec_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecServer]:
    """`yiju serve` on 127.0.0.1 over a fresh home holding the starter KB."""
    home = tmp_path_factory.mktemp("security") / "home"
    prepare_home(home)
    # A generous anonymous rate (these tests are not about rate limits) and a small upload limit.
    (home / "yiju.yaml").write_text(
        f"server:\n  public_rate_per_minute: 10000\n  max_upload_bytes: {UPLOAD_LIMIT}\n", encoding="utf-8"
    )
    keys = {role: create_key(home, role, f"sec-{role}") for role in ROLES}
    proc, base_url = start_server(home)
    try:
        yield SecServer(base_url=base_url, home=home, keys=keys)
    finally:
        stop_server(proc)
