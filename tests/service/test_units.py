"""In-process pieces of the service: key store, upload checks, rate limiter, metrics, error mapping, CLI."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.api.errors import classify_exception
from assistant.api.keys import KeyStore, KeyStoreError, role_allows
from assistant.api.limits import RateLimiter
from assistant.api.metrics import Metrics
from assistant.api.uploads import UploadRejected, check_content, check_filename

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_keys_are_stored_hashed_and_verified(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite")
    key, info = store.create("curator", "alice")
    assert key.startswith("yk_") and info.role == "curator"
    raw = (tmp_path / "keys.sqlite").read_bytes()
    secret = key.split("_", 2)[2]  # yk_<id>_<secret>; the secret itself may contain "_"
    assert secret.encode() not in raw
    rows = sqlite3.connect(tmp_path / "keys.sqlite").execute("SELECT hash, salt FROM keys").fetchall()
    assert len(rows) == 1 and len(rows[0][0]) == 64 and len(rows[0][1]) == 16
    assert store.verify(key).name == "alice"
    assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.verify("yk_" + info.key_id + "_") is None
    assert store.verify("not-a-key") is None
    assert store.revoke("alice") == 1 and store.verify(key) is None
    assert store.list()[0].revoked
    with pytest.raises(KeyStoreError, match="unknown role"):
        store.create("root")


def test_role_matrix() -> None:
    assert role_allows("admin", "curator") and role_allows("reviewer", "reviewer")
    assert not role_allows("clinic", "curator") and not role_allows("curator", "reviewer")


@pytest.mark.parametrize(
    "name",
    ["../x.md", "a/b.md", "a\\b.md", "..", ".env", "x.zip", "x.tar.gz", "x.exe", "noext", "a\x00.md", ""],
)
def test_bad_filenames_are_refused(name: str) -> None:
    with pytest.raises(UploadRejected):
        check_filename(name)


def test_good_filename_and_contents() -> None:
    assert check_filename("劳动合同法(2012-12-28).md") == "劳动合同法(2012-12-28).md"
    check_content("a.md", "第一条 测试。".encode(), 1000)
    check_content("a.md", "第一条 测试。".encode("gb18030"), 1000)
    for data, status in [(b"PK\x03\x04xx", 415), (b"a\x00b", 415), (b"\xff\xfe\x00", 415), (b"x" * 11, 413)]:
        with pytest.raises(UploadRejected) as err:
            check_content("a.md", data, 10)
        assert err.value.status == status


def test_rate_limiter_window() -> None:
    limiter = RateLimiter(2, window_s=0.2)
    assert limiter.check("a") is None and limiter.check("a") is None
    assert limiter.check("a") is not None
    assert limiter.check("b") is None
    import time

    time.sleep(0.25)
    assert limiter.check("a") is None


def test_metrics_render_is_prometheus_text() -> None:
    m = Metrics()
    m.observe_request("POST", "/v1/ask", 200, 0.03)
    m.observe_answer("legal", "refused")
    m.observe_answer("legal", "under_review", ["intercept.prompt_injection"])
    text = m.render()
    assert 'yiju_http_requests_total{method="POST",route="/v1/ask",status="200"} 1' in text
    assert 'yiju_http_request_duration_seconds_bucket{route="/v1/ask",le="0.05"} 1' in text
    assert 'yiju_http_request_duration_seconds_bucket{route="/v1/ask",le="0.025"} 0' in text
    assert 'yiju_refusals_total{domain="legal"} 1' in text
    assert 'yiju_flags_total{domain="legal",rule="intercept.prompt_injection"} 1' in text


def test_exceptions_map_to_clear_statuses() -> None:
    from knowledge.errors import StoreUnavailable
    from safety.audit import ReviewConflict

    assert classify_exception(StoreUnavailable("chroma down"))[0] == 503
    assert classify_exception(ReviewConflict("taken"))[0] == 409
    status, _, message = classify_exception(RuntimeError("secret /etc/path detail"))
    assert status == 500 and "secret" not in message


def test_error_table_most_specific_first() -> None:
    """A subclass listed after its base would never be reached: the table must order them."""
    from assistant.api.errors import ERROR_TABLE, AccessDenied

    seen: list[type[BaseException]] = []
    for rule in ERROR_TABLE:
        for kind in rule.kinds:
            shadowing = [earlier for earlier in seen if issubclass(kind, earlier)]
            assert not shadowing, f"{kind.__name__} is shadowed by {shadowing[0].__name__}"
            seen.append(kind)
    assert classify_exception(AccessDenied("no", status=403, reason="role"))[:2] == (403, "forbidden")


def test_routes_and_screens_do_not_import_the_app() -> None:
    """The app imports routes and screens; they classify errors through assistant.api.errors instead."""
    import ast

    for folder in ("assistant/api", "ui"):
        for path in (REPO_ROOT / folder).glob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            imported = {
                node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
            } | {
                alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
            }
            if path.name not in ("__init__.py", "app.py"):
                assert "assistant.api.app" not in imported, f"{path} imports the app"


def test_keys_cli(tmp_path: Path) -> None:
    def yiju(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "assistant", "--home", str(tmp_path), *args],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
        )

    created = yiju("keys", "create", "--role", "reviewer", "--name", "bob")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert KeyStore(tmp_path / "keys.sqlite").verify(key).role == "reviewer"
    listed = yiju("keys", "list")
    assert "bob" in listed.stdout and key not in listed.stdout
    bad = yiju("keys", "create", "--role", "root")
    assert bad.returncode != 0 and "unknown role" in bad.stderr and "Traceback" not in bad.stderr
    assert yiju("keys", "revoke", "bob").returncode == 0
    assert KeyStore(tmp_path / "keys.sqlite").verify(key) is None
