"""Start and stop a real `yiju serve` process on 127.0.0.1 for tests and benchmarks.

    from tests.server_harness import free_port, prepare_home, start_server, stop_server
    prepare_home(home)                                  # starter KB (subprocess) — once per home
    proc, base_url = start_server(home, free_port(), {"SOME_ENV": "1"})
    ...
    stop_server(proc)                                   # SIGTERM, then SIGKILL, by PID

`kill_server(proc)` sends SIGKILL (for crash tests). Server output goes to `<home>/server.log`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from assistant.home import OFFLINE_ENV  # noqa: F401 - re-exported for the tests that start servers

REPO_ROOT = Path(__file__).resolve().parents[1]
# Servers started by this process and still running: (proc, home). A failed browser test asks each of
# them for its thread stacks (SIGUSR1, see assistant/cli/serve.py), so a stall is diagnosed in CI output.
RUNNING: list[tuple[subprocess.Popen, Path]] = []


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path, extra_env: dict[str, str] | None) -> dict[str, str]:
    env = {**os.environ, **OFFLINE_ENV, "YIJU_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra_env or {})
    return env


def prepare_home(home: Path, timeout: float = 600) -> None:
    """Import the starter knowledge base into `home` (in a subprocess, so no store handle stays open here)."""
    home.mkdir(parents=True, exist_ok=True)
    code = (
        "import sys; from pathlib import Path; from knowledge.kb import KnowledgeBase; "
        "r = KnowledgeBase.open(Path(sys.argv[1])).import_starter(); "
        "print(r.model_dump_json() if hasattr(r, 'model_dump_json') else r)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(home)],
        env=_env(home, None),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"starter import failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


def create_key(home: Path, role: str, name: str = "") -> str:
    """Create an API key directly in `<home>/keys.sqlite` (what `yiju keys create` does)."""
    from assistant.api.keys import KeyStore

    key, _info = KeyStore(home / "keys.sqlite").create(role, name or f"test-{role}")
    return key


def start_server(
    home: Path, port: int | None = None, extra_env: dict[str, str] | None = None, timeout: float = 180
) -> tuple[subprocess.Popen, str]:
    """Start `yiju serve` for `home` on 127.0.0.1:`port`; wait until /healthz answers. Returns (proc, base_url)."""
    port = port or free_port()
    log = open(home / "server.log", "ab")  # noqa: SIM115 - handed to the child, closed with it
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(home, extra_env),
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a Ctrl-C in pytest does not hit it first
    )
    log.close()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"yiju serve exited with {proc.returncode}:\n{server_log(home)[-4000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                RUNNING.append((proc, home))
                return proc, base_url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"yiju serve did not become ready in {timeout} s:\n{server_log(home)[-4000:]}")


def server_log(home: Path) -> str:
    """The server's combined stdout/stderr so far."""
    path = home / "server.log"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def dump_stacks(proc: subprocess.Popen, home: Path, wait: float = 2.0) -> str:
    """Ask a running server for every thread's stack (SIGUSR1); returns the end of its log with them."""
    if proc.poll() is None and hasattr(signal, "SIGUSR1"):
        os.kill(proc.pid, signal.SIGUSR1)
        time.sleep(wait)
    return server_log(home)[-12000:]


def stop_server(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Stop the server by PID: SIGTERM (graceful), then SIGKILL if it lingers."""
    RUNNING[:] = [(p, h) for p, h in RUNNING if p is not proc]
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def kill_server(proc: subprocess.Popen) -> None:
    """SIGKILL the server by PID (simulates a crash)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


CHROMA = Path(sys.executable).parent / "chroma"


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
