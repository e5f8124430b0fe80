"""Fixtures for pipeline tests: one starter knowledge base per session (real Chroma, tiny embedder),
copied into a fresh data directory per test that needs its own, and a real SQLite audit store per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Trains in about a second: these tests check the pipeline, not embedding quality.
TINY_YAML = """\
knowledge:
  embedder: {kind: static_trained, dim: 16, max_pairs: 400, batch_size: 32, max_seconds: 2}
"""


@pytest.fixture(scope="session")
def starter_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the packaged starter KB (legal + medical) — treat as read-only."""
    from assistant.config import load_config
    from knowledge.kb import KnowledgeBase

    home = tmp_path_factory.mktemp("starter") / "home"
    home.mkdir()
    (home / "yiju.yaml").write_text(TINY_YAML, encoding="utf-8")
    cfg = load_config(None, home)
    kb = KnowledgeBase.open(home, cfg.knowledge_config())
    report = kb.import_starter()
    assert not report.errors, report.errors
    kb.close()
    return home


@pytest.fixture
def home(starter_home: Path, tmp_path: Path) -> Path:
    """A private copy of the starter data directory (for tests that write audit rows or config)."""
    dest = tmp_path / "home"
    shutil.copytree(starter_home, dest, ignore=shutil.ignore_patterns("audit.sqlite*"))
    return dest


@pytest.fixture(scope="session")
def kb(starter_home: Path) -> Iterator[object]:
    """The starter KnowledgeBase, opened once per session (retrieval only)."""
    from assistant.config import load_config
    from knowledge.kb import KnowledgeBase

    kb = KnowledgeBase.open(starter_home, load_config(None, starter_home).knowledge_config())
    yield kb
    kb.close()


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[object]:
    """A fresh real SQLite audit store."""
    from safety.audit import SqliteAuditStore

    store = SqliteAuditStore(tmp_path / "audit.sqlite")
    yield store
    store.close()


@pytest.fixture
def make_pipeline(kb, audit):
    """Build a Pipeline over the session KB and a fresh audit store with the given generator."""
    from assistant.domains import load_domains
    from assistant.generators.extractive import ExtractiveGenerator
    from assistant.pipeline import Pipeline

    built: list[Pipeline] = []

    def make(generator=None, **kwargs) -> Pipeline:
        p = Pipeline(
            kb=kb,
            audit=audit,
            domains=kwargs.pop("domains", None) or load_domains(),
            generator=generator or ExtractiveGenerator(),
            **kwargs,
        )
        built.append(p)
        return p

    return make
