"""Issue 14 item 2: X-Forwarded-For is believed only from configured proxies; the limiters are bounded.

Before: uvicorn believed X-Forwarded-For from 127.0.0.1 (its default), so any process on the host could
rotate its "address" past the anonymous rate limit (API and chat) and write any client id into the
audit; the limiter kept every client it ever saw, and past 10,000 of them scanned them all on each check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.api.limits import RateLimiter
from tests.server_harness import create_key, prepare_home, start_server, stop_server

pytestmark = pytest.mark.server

RATE = 3  # anonymous requests per minute in these servers
QUESTION = {"question": "劳动合同法第四十七条规定了什么？", "domain": "legal"}


@pytest.fixture(scope="module")
def proxy_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    home = tmp_path_factory.mktemp("proxy") / "home"
    prepare_home(home)
    yield home, create_key(home, "reviewer", "proxy-reviewer")


def _serve(home: Path, yaml_text: str):
    (home / "yiju.yaml").write_text(yaml_text, encoding="utf-8")
    return start_server(home)


def _client_ids(base_url: str, reviewer_key: str) -> list[str]:
    turns = httpx.get(
        f"{base_url}/v1/audit/turns",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {reviewer_key}"},
        timeout=30,
    )
    assert turns.status_code == 200, turns.text
    return [str(t.get("client_id")) for t in turns.json()]


def _chat(base_url: str, forwarded_for: str) -> str:
    """One question through the Gradio chat screen, as a browser behind `forwarded_for` would send it."""
    from gradio_client import Client

    client = Client(base_url + "/", headers={"X-Forwarded-For": forwarded_for}, verbose=False)
    try:
        html, _turn = client.predict(QUESTION["question"], "法律", api_name="/ask")
    finally:
        client.close()
    return str(html)


def test_forwarded_for_is_ignored_by_default(proxy_home: tuple[Path, str]) -> None:
    home, reviewer_key = proxy_home
    proc, base_url = _serve(home, f"server:\n  public_rate_per_minute: {RATE}\n")
    try:
        statuses = []
        for i in range(RATE + 1):
            headers = {"X-Forwarded-For": f"203.0.113.{i + 1}", "X-Real-IP": f"198.51.100.{i + 1}"}
            statuses.append(
                httpx.post(f"{base_url}/v1/ask", json=QUESTION, headers=headers, timeout=60).status_code
            )
        assert statuses[:RATE] == [200] * RATE and statuses[RATE] == 429, statuses
        ids = _client_ids(base_url, reviewer_key)
        assert ids and all(cid == "127.0.0.1" for cid in ids), ids

        # The chat screen's limiter too: a fresh "address" per question changes nothing.
        answers = [_chat(base_url, f"203.0.113.{50 + i}") for i in range(RATE + 1)]
        assert all("rate-limited" not in a for a in answers[:RATE])
        assert "rate limited" in answers[RATE] or "rate-limited" in answers[RATE], answers[RATE][:300]
        assert all(cid in ("127.0.0.1", "ui:127.0.0.1") for cid in _client_ids(base_url, reviewer_key))
    finally:
        stop_server(proc)


def test_configured_proxy_is_believed(proxy_home: tuple[Path, str]) -> None:
    home, reviewer_key = proxy_home
    proc, base_url = _serve(
        home, f"server:\n  public_rate_per_minute: {RATE}\n  trusted_proxies: ['127.0.0.1/32', '::1']\n"
    )
    try:
        for i in range(RATE + 1):
            # Behind a trusted proxy each forwarded client has its own limit and is audited as itself.
            headers = {"X-Forwarded-For": f"192.0.2.{i + 1}"}
            resp = httpx.post(f"{base_url}/v1/ask", json=QUESTION, headers=headers, timeout=60)
            assert resp.status_code == 200, resp.text
        assert {f"192.0.2.{i + 1}" for i in range(RATE + 1)} <= set(_client_ids(base_url, reviewer_key))
    finally:
        stop_server(proc)


def test_bad_trusted_proxy_is_a_config_error(tmp_path: Path) -> None:
    from assistant.config import load_config
    from assistant.errors import ConfigError

    (tmp_path / "yiju.yaml").write_text("server:\n  trusted_proxies: ['my-proxy']\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(None, tmp_path)
    assert "server.trusted_proxies" in str(caught.value) and "my-proxy" in str(caught.value)


def test_rate_limiter_forgets_idle_clients_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("assistant.api.limits.time.monotonic", lambda: clock[0])
    limiter = RateLimiter(2, window_s=60, max_clients=1000)
    for i in range(5000):  # a flood of distinct clients
        assert limiter.check(f"10.0.{i // 256}.{i % 256}") is None
    assert len(limiter) <= 1000
    # A limited client stays limited while it keeps coming (most recently seen is kept) ...
    assert limiter.check("a") is None and limiter.check("a") is None
    assert limiter.check("a") == pytest.approx(60.0)
    clock[0] += 61
    # ... and everyone idle for a whole window is forgotten on the next check.
    assert limiter.check("b") is None
    assert len(limiter) == 1
