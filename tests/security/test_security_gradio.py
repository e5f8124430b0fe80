"""Issue 14 items 3 and 4: the Gradio app's upload and file routes need the knowledge screen's key and
keep /v1's limits; the knowledge screen only reads files this server received.

Before: `POST /gradio_api/upload` wrote any files to disk without a key (20 × 1 MiB per request, never
cleaned up), and a curator key made the knowledge screen import any server file named in the request
(`{"path": "/etc/…"}` through /gradio_api/queue/join), readable afterwards through /v1/kb/search.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server

STATUTE = "# 中华人民共和国上传守卫测试法\n\n<!-- INFO END -->\n\n第一条 经由知识库页面上传的条文{marker}。\n"


def _multipart(files: list[tuple[str, bytes]], boundary: str = "B") -> tuple[bytes, dict[str, str]]:
    """A compact multipart body (short headers, so many parts fit under a small byte limit)."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n\r\n'.encode()
        + data
        + b"\r\n"
        for name, data in files
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def _upload(server: Any, files: list[tuple[str, bytes]], headers: dict[str, str] | None = None, **kw: Any):
    body, base = _multipart(files)
    return httpx.post(
        f"{server.base_url}/gradio_api/upload",
        content=body,
        headers={**base, **(headers or {})},
        timeout=60,
        **kw,
    )


def _upload_folder(server: Any) -> Path:
    return server.home / "ui-uploads"


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_upload_route_refuses_anonymous_and_wrong_role_and_writes_nothing(sec_server: Any) -> None:
    before = _files_under(_upload_folder(sec_server))
    files = [(f"f{i}.md", b"x" * 1024) for i in range(20)]
    anonymous = _upload(sec_server, files)
    assert anonymous.status_code == 401, anonymous.text[:300]
    assert anonymous.json()["error"]["code"] == 401
    for role in ("clinic", "reviewer"):
        refused = _upload(sec_server, files, sec_server.auth(role))
        assert refused.status_code == 403, (role, refused.text[:300])
    assert _files_under(_upload_folder(sec_server)) == before

    accepted = _upload(sec_server, files[:1], sec_server.auth("curator"))
    assert accepted.status_code == 200, accepted.text[:300]
    (stored,) = accepted.json()
    assert Path(stored).resolve().is_relative_to(_upload_folder(sec_server).resolve()), stored


@pytest.mark.parametrize(
    "path", ["//gradio_api/upload", "/gradio_api//upload", "/gradio_api/./upload", "/x/../gradio_api/upload"]
)
def test_upload_route_spelled_oddly_is_guarded_too(sec_server: Any, path: str) -> None:
    import http.client
    from urllib.parse import urlsplit

    before = _files_under(_upload_folder(sec_server))
    body, headers = _multipart([("odd.md", b"# odd\n")])
    url = urlsplit(sec_server.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request("POST", path, body=body, headers=headers)  # sent exactly as written
        status = conn.getresponse().status
    finally:
        conn.close()
    assert status != 200, path
    assert _files_under(_upload_folder(sec_server)) == before


def test_browser_session_cookie_carries_the_screens_key(sec_server: Any) -> None:
    files = [("a.md", b"# x\n")]
    for role, expected in (("curator", 200), ("admin", 200), ("reviewer", 403), ("clinic", 403)):
        with httpx.Client(base_url=sec_server.base_url, timeout=60) as browser:
            opened = browser.post("/ui/session", headers=sec_server.auth(role))
            assert opened.status_code == 200, opened.text
            cookie = opened.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie, cookie
            body, headers = _multipart(files)
            r = browser.post("/gradio_api/upload", content=body, headers=headers)
            assert r.status_code == expected, (role, r.status_code, r.text[:200])
    with httpx.Client(base_url=sec_server.base_url, timeout=60) as browser:
        assert browser.post("/ui/session", headers={"Authorization": "Bearer yk_00_nope"}).status_code == 401
        browser.cookies.set("yiju_ui_session", "forged-" + uuid.uuid4().hex)
        body, headers = _multipart(files)
        assert browser.post("/gradio_api/upload", content=body, headers=headers).status_code == 401


def test_revoking_the_key_ends_its_browser_sessions(sec_server: Any) -> None:
    from assistant.api.keys import KeyStore

    store = KeyStore(sec_server.home / "keys.sqlite")
    key, info = store.create("curator", f"sec-session-{uuid.uuid4().hex[:6]}")
    with httpx.Client(base_url=sec_server.base_url, timeout=60) as browser:
        assert browser.post("/ui/session", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        body, headers = _multipart([("a.md", b"# x\n")])
        assert browser.post("/gradio_api/upload", content=body, headers=headers).status_code == 200
        store.revoke(info.key_id)
        assert browser.post("/gradio_api/upload", content=body, headers=headers).status_code == 401


def test_upload_route_has_the_v1_file_count_and_size_limits(sec_server: Any) -> None:
    from assistant.api.uploads import MAX_FILES_PER_UPLOAD

    many = [(f"{i}.md", b"x") for i in range(MAX_FILES_PER_UPLOAD + 1)]
    refused = _upload(sec_server, many, sec_server.auth("curator"))
    assert refused.status_code == 413 and f"at most {MAX_FILES_PER_UPLOAD} files" in refused.text, (
        refused.text[:300]
    )
    from tests.security.conftest import UPLOAD_LIMIT

    big = _upload(sec_server, [("big.md", b"x" * (UPLOAD_LIMIT + 10))], sec_server.auth("curator"))
    assert big.status_code == 413, big.text[:300]


def test_file_route_serves_received_files_only_to_the_screens_role(sec_server: Any) -> None:
    accepted = _upload(sec_server, [("served.md", b"# served\n")], sec_server.auth("curator"))
    (stored,) = accepted.json()
    url = f"{sec_server.base_url}/gradio_api/file={stored}"
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, headers=sec_server.auth("clinic"), timeout=30).status_code == 403
    served = httpx.get(url, headers=sec_server.auth("curator"), timeout=30)
    assert served.status_code == 200 and served.content == b"# served\n"


# ---------------------------------------------------------------------------------------- item 4


def _config(server: Any) -> dict[str, Any]:
    return httpx.get(f"{server.base_url}/config", timeout=30).json()


def _event(server: Any, button_elem_id: str) -> tuple[int, int]:
    """(fn_index, trigger id) of the click event of the button with `button_elem_id`."""
    config = _config(server)
    button = next(
        c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == button_elem_id
    )
    for index, dep in enumerate(config["dependencies"]):
        if any(target[0] == button for target in dep.get("targets", [])):
            return dep.get("id", index), button
    raise AssertionError(f"no event on #{button_elem_id}")


def _run_screen_function(server: Any, button_elem_id: str, data: list[Any]) -> list[Any]:
    """Call a screen's function the way the red team did: /gradio_api/queue/join, then read the queue."""
    fn_index, trigger = _event(server, button_elem_id)
    session = uuid.uuid4().hex[:12]
    joined = httpx.post(
        f"{server.base_url}/gradio_api/queue/join",
        json={
            "data": data,
            "fn_index": fn_index,
            "trigger_id": trigger,
            "session_hash": session,
            "event_data": None,
        },
        timeout=60,
    )
    assert joined.status_code == 200, joined.text[:300]
    with httpx.stream(
        "GET", f"{server.base_url}/gradio_api/queue/data", params={"session_hash": session}, timeout=120
    ) as events:
        for line in events.iter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("msg") == "process_completed":
                output = message.get("output") or {}
                return list(output.get("data") or [output.get("error")])
    raise AssertionError("the queue closed without a result")


def _search(server: Any, marker: str) -> list[dict[str, Any]]:
    with server.client("curator") as c:
        r = c.get("/v1/kb/search", params={"q": marker, "k": 5})
    assert r.status_code == 200, r.text
    return [p for p in r.json() if marker in p.get("text", "")]


@pytest.mark.parametrize(
    "shape",
    [
        lambda p: {"path": str(p), "meta": {"_type": "gradio.FileData"}},  # what the browser sends
        lambda p: {"path": str(p)},  # no meta: Gradio does not even look at it
        lambda p: {
            "path": f"/tmp/gradio/../..{p}",
            "orig_name": "x.md",
            "meta": {"_type": "gradio.FileData"},
        },
    ],
)
def test_knowledge_screen_never_reads_a_client_chosen_path(sec_server: Any, tmp_path: Path, shape) -> None:
    marker = "秘密" + uuid.uuid4().hex[:8]
    secret = tmp_path / "上传守卫测试法(2024-01-01).md"
    secret.write_text(STATUTE.format(marker=marker), encoding="utf-8")
    (report, *_rest) = _run_screen_function(
        sec_server, "kb-import", [sec_server.keys["curator"], [shape(secret)], None, "auto"]
    )
    assert "〔已导入〕1 个文件" not in str(report), report
    assert not _search(sec_server, marker), "a server file chosen by the client was imported"


def test_knowledge_screen_imports_a_received_upload_and_cleans_it_up(sec_server: Any) -> None:
    marker = "合法" + uuid.uuid4().hex[:8]
    text = STATUTE.format(marker=marker).encode()
    accepted = _upload(sec_server, [("上传守卫测试法(2024-01-02).md", text)], sec_server.auth("curator"))
    (stored,) = accepted.json()
    payload = {"path": stored, "orig_name": Path(stored).name, "meta": {"_type": "gradio.FileData"}}
    (report, *_rest) = _run_screen_function(
        sec_server, "kb-import", [sec_server.keys["curator"], [payload], None, "auto"]
    )
    assert "〔已导入〕1 个文件" in str(report), report
    assert _search(sec_server, marker)
    assert not Path(stored).exists(), "the upload was kept after its import"
