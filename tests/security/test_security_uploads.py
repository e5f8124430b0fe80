"""Knowledge uploads: traversal names, oversized files, archives and binary junk are refused, storing nothing."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server

UPLOAD_LIMIT = 50_000  # tests/security/conftest.py writes this into the server's yiju.yaml
STATUTE = "# 示例上传规定\n\n<!-- INFO END -->\n\n第一条 这是一个用于上传测试的示例条文。\n".encode()


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("law.md", STATUTE)
    return buf.getvalue()


def _tar_bytes() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("law.md")
        info.size = len(STATUTE)
        tf.addfile(info, io.BytesIO(STATUTE))
    return buf.getvalue()


BAD_UPLOADS: list[tuple[str, str, bytes, tuple[int, ...]]] = [
    ("traversal", "../../etc/passwd.md", STATUTE, (400,)),
    ("traversal-backslash", "..\\..\\windows\\evil.md", STATUTE, (400,)),
    ("absolute", "/etc/cron.d/evil.md", STATUTE, (400,)),
    ("hidden", ".bashrc.md", STATUTE, (400,)),
    ("oversized", "big.md", STATUTE + "第二条 很长。\n".encode() * (UPLOAD_LIMIT // 10), (413,)),
    ("zip", "laws.zip", _zip_bytes(), (415,)),
    ("tar", "laws.tar", _tar_bytes(), (415,)),
    ("tar.gz name", "laws.tar.gz", b"\x1f\x8b\x08" + os.urandom(200), (415,)),
    ("zip renamed .md", "laws.md", _zip_bytes(), (415,)),
    ("tar renamed .md", "laws.md", _tar_bytes(), (415,)),
    ("binary junk", "junk.md", os.urandom(4000), (415,)),
    ("nul bytes", "nul.txt", b"\xe7\xac\xac\xe4\xb8\x80\xe6\x9d\xa1 abc\x00\x00\x00def", (415,)),
    ("executable", "run.sh", b"#!/bin/sh\nrm -rf /\n", (415,)),
    ("empty", "empty.md", b"", (400,)),
]


def _state(server: Any) -> dict[str, Any]:
    with server.client("curator") as c:
        stats = c.get("/v1/kb/stats").json()
        laws = c.get("/v1/kb/laws").json()
    uploads = server.home / "uploads"
    leftovers = sorted(str(p.relative_to(uploads)) for p in uploads.rglob("*")) if uploads.exists() else []
    return {
        "kb_version": stats.get("kb_version"),
        "laws": sorted((x["law"], x["articles"]) for x in laws),
        "upload_leftovers": leftovers,
    }


@pytest.mark.parametrize(("label", "name", "data", "statuses"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_upload_is_refused_and_stores_nothing(sec_server: Any, label, name, data, statuses) -> None:
    before = _state(sec_server)
    with sec_server.client("curator") as c:
        r = c.post("/v1/kb/import", files=[("files", (name, data, "application/octet-stream"))])
    assert r.status_code in statuses, (label, r.status_code, r.text[:300])
    body = r.json()
    assert body["error"]["code"] == r.status_code and body["error"]["message"], body
    assert "Traceback" not in r.text
    assert _state(sec_server) == before
    # Nothing escaped the data directory.
    assert not (sec_server.home.parent.parent / "etc" / "passwd.md").exists()
    assert not Path("/etc/passwd.md").exists()


@pytest.mark.parametrize("name", ["law\x07.md", "law\u202e.md", "a/../b.md"])
def test_raw_multipart_names_with_control_characters_or_paths_are_refused(sec_server: Any, name: str) -> None:
    # Built by hand: httpx would percent-escape control characters in file names.
    before = _state(sec_server)
    boundary = "yijuBoundary7MA4YWxk"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: text/markdown\r\n\r\n"
        ).encode()
        + STATUTE
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {**sec_server.auth("curator"), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = httpx.post(f"{sec_server.base_url}/v1/kb/import", content=body, headers=headers, timeout=60)
    assert r.status_code in (400, 422), (name, r.status_code, r.text[:300])
    assert _state(sec_server) == before


def test_one_bad_file_refuses_the_whole_upload(sec_server: Any) -> None:
    before = _state(sec_server)
    good = ("good.md", STATUTE, "text/markdown")
    bad = ("../evil.md", STATUTE, "text/markdown")
    with sec_server.client("curator") as c:
        r = c.post("/v1/kb/import", files=[("files", good), ("files", bad)])
    assert r.status_code == 400, r.text
    assert _state(sec_server) == before


def test_oversized_body_is_refused_before_it_is_read(sec_server: Any) -> None:
    # A body far over the limit (declared by Content-Length) is refused with 413 by the size middleware.
    blob = b"a" * (UPLOAD_LIMIT * 4)
    with sec_server.client("curator") as c:
        r = c.post("/v1/kb/import", files=[("files", ("huge.md", blob, "text/markdown"))])
    assert r.status_code == 413, r.text[:300]


def test_a_valid_upload_still_works(sec_server: Any) -> None:
    # Positive control: the refusals above are not just "uploads are broken".
    doc = "# 安全测试上传示例办法\n\n<!-- INFO END -->\n\n第一条 上传测试用的示例条文，内容无实际意义。\n".encode()
    with sec_server.client("curator") as c:
        r = c.post("/v1/kb/import", files=[("files", ("安全测试上传示例办法.md", doc, "text/markdown"))])
        assert r.status_code == 200, r.text
        assert r.json()["articles_added"] == 1, r.json()
        laws = {x["law"] for x in c.get("/v1/kb/laws").json()}
        assert "安全测试上传示例办法" in laws
        assert c.delete("/v1/kb/laws/安全测试上传示例办法").status_code == 200


def test_anonymous_and_clinic_cannot_upload(sec_server: Any) -> None:
    for role in (None, "clinic", "reviewer"):
        with sec_server.client(role) as c:
            r = c.post("/v1/kb/import", files=[("files", ("x.md", STATUTE, "text/markdown"))])
        assert r.status_code in (401, 403), (role, r.status_code)
    assert httpx.get(f"{sec_server.base_url}/healthz", timeout=10).status_code == 200
