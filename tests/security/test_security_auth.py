"""Every non-public endpoint refuses a missing key, a wrong key and a key of the wrong role.

Routes are enumerated from the live server's OpenAPI schema, so an endpoint added later is covered
without touching this file: anything not on the short PUBLIC list must refuse anonymous callers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

ROLES = ("clinic", "curator", "reviewer", "admin")
SecServer = Any  # the `sec_server` fixture's object (tests/security/conftest.py)

pytestmark = pytest.mark.server

# Deliberately public (issue 5: the public chat needs no key but is rate-limited; ops probes).
PUBLIC: set[tuple[str, str]] = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("POST", "/v1/ask"),
    ("POST", "/v1/ask/stream"),
    # The asker fetches a reviewed answer by its turn id (random, unguessable: the id is the capability).
    ("GET", "/v1/ask/{turn_id}"),
    # The asker's 👍/👎 on an answer, by its turn id (same capability).
    ("POST", "/v1/feedback"),
    ("POST", "/v1/chat/completions"),
    ("GET", "/v1/models"),
    ("GET", "/v1/domains"),
    ("GET", "/v1/adapters"),
}
# Routes under these prefixes need exactly this role (admin may do everything).
ROLE_BY_PREFIX: dict[str, str] = {"/v1/kb": "curator", "/v1/audit": "reviewer"}
WRONG_KEYS = (
    {"Authorization": "Bearer yk_0000000000_not-a-real-secret"},
    {"Authorization": "Bearer " + "x" * 64},
    {"X-API-Key": "yk_deadbeef_wrong"},
)


def _placeholder(schema: dict[str, Any]) -> str:
    if schema.get("enum"):
        return str(schema["enum"][0])
    if schema.get("type") == "integer":
        return "1"
    return "zz-no-such-thing"


def _routes(server: SecServer) -> list[tuple[str, str, str, dict[str, str]]]:
    """(METHOD, template, concrete path, required query params) for every operation in /openapi.json."""
    spec = httpx.get(f"{server.base_url}/openapi.json", timeout=30).json()
    out = []
    for template, ops in spec["paths"].items():
        for method, op in ops.items():
            if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                continue
            params = op.get("parameters", [])
            path = template
            query: dict[str, str] = {}
            for p in params:
                value = _placeholder(p.get("schema", {}))
                if p["in"] == "path":
                    path = path.replace("{" + p["name"] + "}", value)
                elif p["in"] == "query" and p.get("required"):
                    query[p["name"]] = value
            assert not re.search(r"\{[^}]+\}", path), f"unfilled path parameter in {template}"
            out.append((method.upper(), template, path, query))
    return out


def _call(server: SecServer, method: str, path: str, query: dict[str, str], headers: dict[str, str]):
    kwargs: dict[str, Any] = {"params": query, "headers": headers, "timeout": 60}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return httpx.request(method, f"{server.base_url}{path}", **kwargs)


def _required_role(template: str) -> str | None:
    for prefix, role in ROLE_BY_PREFIX.items():
        if template.startswith(prefix):
            return role
    return None


def test_schema_lists_the_guarded_endpoints(sec_server: SecServer) -> None:
    templates = {t for _, t, _, _ in _routes(sec_server)}
    # Sanity: the enumeration really sees the curation and review endpoints (else the tests below are empty).
    assert any(t.startswith("/v1/kb") for t in templates), templates
    assert any(t.startswith("/v1/audit") for t in templates), templates


def test_every_non_public_endpoint_refuses_no_key_wrong_key_and_wrong_role(sec_server: SecServer) -> None:
    problems: list[str] = []
    checked = 0
    for method, template, path, query in _routes(sec_server):
        if (method, template) in PUBLIC:
            continue
        checked += 1
        r = _call(sec_server, method, path, query, {})
        if r.status_code != 401:
            problems.append(f"{method} {template}: no key -> {r.status_code}")
        elif "Traceback" in r.text or r.json().get("error", {}).get("code") != 401:
            problems.append(f"{method} {template}: no key -> unclear body {r.text[:200]}")
        for headers in WRONG_KEYS:
            r = _call(sec_server, method, path, query, headers)
            if r.status_code != 401:
                problems.append(f"{method} {template}: wrong key {headers} -> {r.status_code}")
        required = _required_role(template)
        if required is not None:
            for role in ROLES:
                r = _call(sec_server, method, path, query, sec_server.auth(role))
                allowed = role in (required, "admin")
                if allowed and r.status_code in (401, 403):
                    problems.append(
                        f"{method} {template}: {role} key refused ({r.status_code}) {r.text[:200]}"
                    )
                if not allowed and r.status_code != 403:
                    problems.append(f"{method} {template}: {role} key -> {r.status_code}, expected 403")
        else:
            # An endpoint nobody classified yet: at least it must not be open to every role.
            refused = [
                role
                for role in ROLES
                if _call(sec_server, method, path, query, sec_server.auth(role)).status_code == 403
            ]
            if not refused:
                problems.append(f"{method} {template}: every role may use it; classify it in ROLE_BY_PREFIX")
    assert checked >= 5, f"only {checked} non-public operations found"
    assert not problems, "\n".join(problems)


def test_public_endpoints_refuse_a_wrong_key_rather_than_degrading_to_anonymous(
    sec_server: SecServer,
) -> None:
    for path, body in (
        ("/v1/ask", {"question": "经济补偿怎么计算？"}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "经济补偿怎么计算？"}]}),
    ):
        for headers in WRONG_KEYS:
            r = httpx.post(f"{sec_server.base_url}{path}", json=body, headers=headers, timeout=60)
            assert r.status_code == 401, (path, headers, r.status_code, r.text[:300])


def test_revoked_key_is_refused(sec_server: SecServer) -> None:
    from assistant.api.keys import KeyStore

    store = KeyStore(sec_server.home / "keys.sqlite")
    key, info = store.create("reviewer", "sec-soon-revoked")
    url = f"{sec_server.base_url}/v1/audit/queue"
    assert httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code == 200
    assert store.revoke(info.key_id) == 1
    r = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert r.status_code == 401, r.text


def test_tampered_secret_of_a_real_key_is_refused(sec_server: SecServer) -> None:
    real = sec_server.keys["admin"]
    tampered = real[:-1] + ("A" if real[-1] != "A" else "B")
    r = httpx.get(
        f"{sec_server.base_url}/v1/audit/queue", headers={"Authorization": f"Bearer {tampered}"}, timeout=30
    )
    assert r.status_code == 401, r.text
