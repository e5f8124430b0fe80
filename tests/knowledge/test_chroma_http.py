"""The chroma_http store against a real `chroma run` server on 127.0.0.1, stopped by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowledge.errors import StoreUnavailable
from knowledge.kb import KnowledgeBase
from tests.knowledge.conftest import tiny_config

CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("chroma server did not become ready")


@pytest.fixture
def chroma_server(tmp_path: Path):
    if not CHROMA.exists():
        pytest.skip("the chroma server script is not installed")
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [
            str(CHROMA),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--path",
            str(tmp_path / "chroma-data"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        _wait_ready(port, proc)
        yield port, proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


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
