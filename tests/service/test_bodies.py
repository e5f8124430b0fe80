"""Random and adversarial request bodies never produce a 5xx or a traceback (hypothesis, real HTTP)."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.server

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
ask_like = st.fixed_dictionaries(
    {},
    optional={
        "question": json_values | st.text(max_size=80),
        "domain": json_values | st.sampled_from(["legal", "医疗", "auto", "x"]),
    },
)
chat_like = st.fixed_dictionaries(
    {},
    optional={
        "model": json_values | st.sampled_from(["auto", "legal", "nope"]),
        "messages": json_values
        | st.lists(
            st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "x"]), "content": json_values}),
            max_size=3,
        ),
        "stream": st.booleans() | json_values,
    },
)
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _check(resp: httpx.Response) -> None:
    assert resp.status_code < 500, resp.text
    assert "Traceback" not in resp.text
    if resp.status_code >= 400:
        assert resp.json()["error"]["message"]


@SETTINGS
@given(body=ask_like | json_values)
def test_random_ask_bodies(service, body) -> None:
    _check(httpx.post(service.base_url + "/v1/ask", json=body, headers=service.auth("clinic"), timeout=60))


@SETTINGS
@given(body=chat_like | json_values)
def test_random_chat_bodies(service, body) -> None:
    if isinstance(body, dict):
        body["stream"] = False  # the streamed variant is covered in test_api
    _check(
        httpx.post(
            service.base_url + "/v1/chat/completions", json=body, headers=service.auth("clinic"), timeout=60
        )
    )


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_random_raw_bytes(service, raw) -> None:
    resp = httpx.post(
        service.base_url + "/v1/ask",
        content=raw,
        headers={"content-type": "application/json", **service.auth("clinic")},
        timeout=60,
    )
    _check(resp)
    assert resp.status_code in (200, 400, 422), json.dumps(resp.json(), ensure_ascii=False)
