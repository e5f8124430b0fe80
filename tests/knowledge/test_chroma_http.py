"""The chroma_http store against a real `chroma run` server on 127.0.0.1, stopped by PID."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from knowledge.errors import StoreUnavailable
from knowledge.kb import KnowledgeBase
from tests.knowledge.conftest import tiny_config
from tests.server_harness import CHROMA, ChromaServer, free_port


@pytest.fixture
def chroma_server(tmp_path: Path):
    """A real `chroma run` on 127.0.0.1 (stopped by PID at the end)."""
    if not CHROMA.exists():
        pytest.skip("the chroma server script is not installed")
    server = ChromaServer(free_port(), tmp_path / "chroma-data", tmp_path / "chroma.log")
    server.start()
    try:
        yield server.port, server.proc
    finally:
        server.stop()


@pytest.mark.server
def test_import_and_retrieve_through_chroma_server(chroma_server, yiju_home: Path, laws_dir: Path) -> None:
    port, proc = chroma_server
    cfg = tiny_config(store={"kind": "chroma_http", "host": "127.0.0.1", "port": port})
    kb = KnowledgeBase.open(yiju_home, cfg)
    report = kb.import_path(laws_dir, progress=False)
    assert report.errors == [] and report.articles_added == 6
    assert kb.stats()["store"] == "chroma_http"
    assert not (yiju_home / "chroma").exists()  # vectors went to the server, not the local store
    assert kb._store_obj().count(kb.embedder().name) == 6
    hits = kb.retrieve("患者 查阅 病历", k=2)
    assert hits[0].law == "测试医疗纠纷处理条例"

    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}"):
        kb.retrieve("患者 查阅 病历", k=2)
    fresh = KnowledgeBase.open(yiju_home, cfg)
    with pytest.raises(StoreUnavailable):
        fresh.retrieve("患者 查阅 病历", k=2)
