"""Under a `chroma_http` configuration, a stopped Chroma server makes /v1/ask answer a clear 503, and
the service recovers by itself once the Chroma server is back (same port, same data)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

from tests.server_harness import (  # noqa: E402
    CHROMA,
    OFFLINE_ENV,
    ChromaServer,
    create_key,
    free_port,
    server_log,
    start_server,
    stop_server,
)

pytestmark = [pytest.mark.server, pytest.mark.slow]
QUESTION = "公司拖欠工资，劳动者可以解除劳动合同吗？"


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    if not CHROMA.exists():
        pytest.skip("the chroma server script is not installed in the venv")
    server = ChromaServer(free_port(), tmp_path / "chroma-data", tmp_path / "chroma.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _ask(base_url: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/ask",
        json={"question": QUESTION},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def test_chroma_down_is_a_clear_503_and_the_service_recovers(chroma: ChromaServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "yiju.yaml").write_text(
        "knowledge:\n  store:\n    kind: chroma_http\n    host: 127.0.0.1\n"
        f"    port: {chroma.port}\n    timeout_s: 3\n",
        encoding="utf-8",
    )
    env = {**os.environ, **OFFLINE_ENV, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "--home", str(home), "kb", "import", "--starter"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert not (home / "chroma").exists() or not any((home / "chroma").iterdir()), (
        "vectors went to chroma_local"
    )
    key = create_key(home, "clinic", "faults-chroma")
    proc, base_url = start_server(home)
    try:
        first = _ask(base_url, key)
        assert first.status_code == 200 and first.json()["status"] == "answered", first.text[:500]

        chroma.stop()
        down = _ask(base_url, key)
        assert down.status_code == 503, (down.status_code, down.text[:500])
        err = down.json()["error"]
        assert err["type"] == "unavailable" and "store" in err["message"].lower(), err
        assert "Traceback" not in down.text
        assert down.headers.get("retry-after"), down.headers

        chroma.start()
        deadline = time.monotonic() + 60
        back = _ask(base_url, key)
        while back.status_code != 200 and time.monotonic() < deadline:
            time.sleep(1)
            back = _ask(base_url, key)
        assert back.status_code == 200 and back.json()["status"] == "answered", (
            back.status_code,
            back.text[:500],
            server_log(home)[-2000:],
        )
    finally:
        stop_server(proc)
