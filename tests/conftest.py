"""Shared test set-up: offline environment, the ../shared folder, a per-test data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for _var, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_var, _value)

REPO_ROOT = Path(__file__).resolve().parents[1]
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
