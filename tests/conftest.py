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
