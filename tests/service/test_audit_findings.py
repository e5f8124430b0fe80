"""Acceptance-audit fixes over real HTTP: rejected questions are still audited, adapter names as `model`
are honest about what answered, unknown routes use the error shape, and `serve --port 0` prints its port."""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from safety.audit import SqliteAuditStore
from tests.server_harness import _env, stop_server

pytestmark = pytest.mark.server

REPO_ROOT = Path(__file__).resolve().parents[2]
LEGAL_Q = "公司拖欠工资，劳动者可以解除劳动合同吗？"
LONG_Q = "问" * 10_000


def _audit_count(home: Path) -> int:
    return SqliteAuditStore(home / "audit.sqlite").count()


def _sse_events(text: str) -> list[str]:
    return re.findall(r"^event: (\w+)$", text, re.M)


def _call(service, path: str, question: str, stream: bool) -> httpx.Response:
    if path == "/v1/chat/completions":
        body = {"model": "legal", "messages": [{"role": "user", "content": question}], "stream": stream}
    else:
        body = {"question": question, "domain": "legal"}
    return httpx.post(service.base_url + path, json=body, headers=service.auth("clinic"), timeout=120)


@pytest.mark.parametrize(
    ("path", "stream"),
    [
        ("/v1/ask", False),
        ("/v1/ask/stream", True),
        ("/v1/chat/completions", False),
        ("/v1/chat/completions", True),
    ],
)
@pytest.mark.parametrize(
    ("question", "reason"),
    [("", "empty_question"), ("  \u200b\n ", "empty_question"), (LONG_Q, "question_too_long")],
)
def test_rejected_questions_are_422_and_audited_once(service, path, stream, question, reason) -> None:
    before = _audit_count(service.home)
    resp = _call(service, path, question, stream)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == 422 and error["reason"] == reason and error["turn_id"]
    assert (
        ("empty" in error["message"])
        if reason == "empty_question"
        else ("10000 characters" in error["message"])
    )
    assert _audit_count(service.home) == before + 1
    turn = httpx.get(
        f"{service.base_url}/v1/audit/turns/{error['turn_id']}", headers=service.auth("reviewer"), timeout=60
    )
    assert turn.status_code == 200, turn.text
    stored = json.dumps(turn.json(), ensure_ascii=False)
    assert reason in stored and '"error"' in stored


def test_valid_questions_still_stream_normally(service) -> None:
    # The rejection check must not swallow real answers on the streaming routes.
    before = _audit_count(service.home)
    resp = _call(service, "/v1/ask/stream", LEGAL_Q, True)
    assert resp.status_code == 200 and _sse_events(resp.text)[-1] == "final"
    assert _audit_count(service.home) == before + 1


@pytest.fixture
def registered_adapter(service):
    """A registered adapter manifest (no weights: the extractive generator never loads it)."""
    folder = service.home / "adapters" / "law_qa_audit"
    folder.mkdir(parents=True)
    manifest = {
        "name": "law_qa_audit",
        "domain": "legal",
        "base_model": "tiny",
        "base_model_hash": "0" * 16,
        "data_hash": "1" * 16,
        "version": "v1",
        "created_at": "2025-01-01T00:00:00Z",
    }
    (folder / "yiju_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    try:
        yield "law_qa_audit"
    finally:
        shutil.rmtree(folder)


def test_registered_but_unloaded_adapter_answers_with_explicit_notice(service, registered_adapter) -> None:
    ids = {m["id"] for m in httpx.get(service.base_url + "/v1/models", timeout=60).json()["data"]}
    assert registered_adapter in ids
    for stream in (False, True):
        resp = httpx.post(
            service.base_url + "/v1/chat/completions",
            json={
                "model": registered_adapter,
                "messages": [{"role": "user", "content": LEGAL_Q}],
                "stream": stream,
            },
            headers=service.auth("clinic"),
            timeout=120,
        )
        assert resp.status_code == 200, resp.text
        if stream:
            chunks = [json.loads(line[6:]) for line in resp.text.splitlines() if line.startswith("data: {")]
            extra = chunks[-1]["yiju"]
        else:
            extra = resp.json()["yiju"]
        assert extra["domain"] == "legal" and extra["adapter"] is None
        assert extra["notice"] == (
            f"adapter {registered_adapter} is registered but not loaded by the extractive generator; "
            "answered by extractive"
        )
    # A plain domain model carries no notice.
    plain = httpx.post(
        service.base_url + "/v1/chat/completions",
        json={"model": "legal", "messages": [{"role": "user", "content": LEGAL_Q}]},
        headers=service.auth("clinic"),
        timeout=120,
    )
    assert "notice" not in plain.json()["yiju"]


def test_unknown_model_is_404_listing_valid_models(service, registered_adapter) -> None:
    resp = httpx.post(
        service.base_url + "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": LEGAL_Q}]},
        headers=service.auth("clinic"),
        timeout=60,
    )
    assert resp.status_code == 404
    message = resp.json()["error"]["message"]
    assert "gpt-4o" in message and all(m in message for m in ("auto", "legal", "medical", registered_adapter))


def test_adapter_for_unserved_domain_is_a_clear_400(service) -> None:
    folder = service.home / "adapters" / "astro_audit"
    folder.mkdir(parents=True)
    manifest = {
        "name": "astro_audit",
        "domain": "astrology",
        "base_model": "tiny",
        "base_model_hash": "0",
        "data_hash": "1",
        "version": "v1",
        "created_at": "2025-01-01T00:00:00Z",
    }
    (folder / "yiju_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    try:
        resp = httpx.post(
            service.base_url + "/v1/chat/completions",
            json={"model": "astro_audit", "messages": [{"role": "user", "content": LEGAL_Q}]},
            headers=service.auth("clinic"),
            timeout=60,
        )
    finally:
        shutil.rmtree(folder)
    assert resp.status_code == 400 and "astrology" in resp.json()["error"]["message"]


def _assert_error_shape(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == status and body["error"]["message"], body
    return body["error"]


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/nope"), ("POST", "/v1/nope/deeper"), ("GET", "/nope")]
)
def test_unknown_routes_use_error_shape(service, method, path) -> None:
    _assert_error_shape(httpx.request(method, service.base_url + path, timeout=60), 404)


def test_wrong_method_on_known_api_route_is_405_with_allow(service) -> None:
    resp = httpx.get(service.base_url + "/v1/ask", timeout=60)
    error = _assert_error_shape(resp, 405)
    assert resp.headers["allow"] == "POST" and "POST" in error["message"]
    # The UI at "/" is untouched by the rewrite.
    assert httpx.get(service.base_url + "/", timeout=60).status_code == 200


def test_serve_port_zero_prints_the_bound_port(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", "0"],
        env=_env(home, {"COLUMNS": "200"}),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = _wait_for_url(proc, timeout=180)
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert port != 0
        deadline = time.monotonic() + 180
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None, "server never answered"
                time.sleep(0.3)
        assert health.status_code == 200
    finally:
        stop_server(proc)
        if proc.stdout:
            proc.stdout.close()


def _wait_for_url(proc: subprocess.Popen, timeout: float) -> str:
    """The `URL: …` line `yiju serve` prints, read without blocking past the deadline."""
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sel.select(timeout=0.5)
        out += proc.stdout.read() or b""
        found = re.search(rb"URL: (http://127\.0\.0\.1:\d+/)", out)
        if found:
            return found.group(1).decode()
        assert proc.poll() is None, out.decode(errors="replace")[-3000:]
    raise AssertionError(f"no URL line printed:\n{out.decode(errors='replace')[-3000:]}")


def test_serve_refuses_out_of_range_port(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "--home", str(tmp_path), "serve", "--port", "70000"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=_env(tmp_path, None),
        timeout=120,
    )
    assert done.returncode == 2 and "65535" in done.stderr  # typer names the valid range
    assert "Traceback" not in done.stderr
