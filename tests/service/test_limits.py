"""Size and rate limits on a server started with tiny limits (see the `tight_service` fixture)."""

from __future__ import annotations

import httpx
import pytest

from tests.service.test_api import assert_error

pytestmark = pytest.mark.server


def test_oversized_json_body_is_413(tight_service) -> None:
    big = {"question": "问" * 1500}
    assert_error(
        httpx.post(tight_service.base_url + "/v1/ask", json=big, headers=tight_service.auth("clinic")), 413
    )


def test_oversized_chunked_body_is_413(tight_service) -> None:
    def chunks():
        yield b'{"question": "'
        for _ in range(50):
            yield "问".encode() * 40
        yield b'"}'

    resp = httpx.post(
        tight_service.base_url + "/v1/ask",
        content=chunks(),
        headers={"content-type": "application/json", **tight_service.auth("clinic")},
    )
    assert_error(resp, 413)


def test_oversized_upload_is_413(tight_service) -> None:
    files = [("files", ("big.md", ("第一条 " + "很长的条文。" * 400).encode(), "text/markdown"))]
    resp = httpx.post(
        tight_service.base_url + "/v1/kb/import", files=files, headers=tight_service.auth("curator")
    )
    assert_error(resp, 413)


def test_anonymous_rate_limit_is_429_but_keys_are_not_limited(tight_service) -> None:
    url = tight_service.base_url + "/v1/ask"
    codes = [
        httpx.post(url, json={"question": "劳动合同怎么解除？"}, timeout=60).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 200]
    limited = httpx.post(url, json={"question": "劳动合同怎么解除？"}, timeout=60)
    message = assert_error(limited, 429)
    assert "rate limit" in message and int(limited.headers["retry-after"]) >= 1
    keyed = httpx.post(
        url, json={"question": "劳动合同怎么解除？"}, headers=tight_service.auth("clinic"), timeout=60
    )
    assert keyed.status_code == 200
    chat = httpx.post(
        tight_service.base_url + "/v1/chat/completions",
        json={"model": "auto", "messages": [{"role": "user", "content": "你好"}]},
        timeout=60,
    )
    assert_error(chat, 429)
    metrics = httpx.get(tight_service.base_url + "/metrics").text
    assert "yiju_rate_limited_total{" in metrics


def test_unknown_route_is_json_404(tight_service) -> None:
    assert_error(httpx.get(tight_service.base_url + "/v1/nothing-here"), 404)
    resp = httpx.put(tight_service.base_url + "/v1/ask", json={})
    assert_error(resp, resp.status_code)
    assert resp.status_code in (404, 405)
