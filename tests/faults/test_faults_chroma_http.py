"""Under a `chroma_http` configuration, a stopped Chroma server makes /v1/ask answer a clear 503, and
the service recovers by itself once the Chroma server is back (same port, same data)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.server_harness import OFFLINE_ENV, create_key, free_port, server_log, start_server, stop_server  # noqa: E402

pytestmark = [pytest.mark.server, pytest.mark.slow]
CHROMA = Path(sys.executable).parent / "chroma"
QUESTION = "公司拖欠工资，劳动者可以解除劳动合同吗？"


class ChromaServer:
    """A `chroma run` process on 127.0.0.1 that the test can stop and start again on the same port/path."""

    def __init__(self, port: int, path: Path, log: Path) -> None:
        self.port, self.path, self.log = port, path, log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(CHROMA),
                    "run",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--path",
                    str(self.path),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("chroma server did not become ready")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


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
