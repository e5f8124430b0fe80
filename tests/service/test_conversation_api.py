"""Conversations and feedback over real HTTP: /v1/ask with conversation_id, /v1/chat/completions using every
message, 👍/👎 at /v1/feedback listed for reviewers at /v1/audit/feedback."""

from __future__ import annotations

import json

import httpx
import pytest

pytestmark = pytest.mark.server

WAGES = "公司拖欠工资，劳动者可以解除劳动合同吗？"
COMPENSATION = "那可以要求经济补偿吗？"


def post(service, path: str, role: str | None = "clinic", **kw) -> httpx.Response:
    headers = kw.pop("headers", {}) | (service.auth(role) if role else {})
    return httpx.post(service.base_url + path, headers=headers, timeout=120, **kw)


def cited(body: dict) -> list[tuple[str, int | None]]:
    return [(c["law"], c["article_no"]) for c in body["citations"]]


def test_ask_returns_a_conversation_id_and_resolves_the_follow_up(service) -> None:
    first = post(service, "/v1/ask", json={"question": WAGES})
    assert first.status_code == 200, first.text
    cid = first.json()["conversation_id"]
    assert cid and first.json()["standalone_question"] == ""  # stood alone
    follow = post(service, "/v1/ask", json={"question": COMPENSATION, "conversation_id": cid})
    body = follow.json()
    assert follow.status_code == 200 and body["conversation_id"] == cid
    assert body["domain"] == "legal" and body["status"] == "answered"
    assert body["standalone_question"] == "公司拖欠工资，劳动者解除劳动合同，可以要求经济补偿吗？"
    assert body["routing"]["follow_up"] and body["routing"]["source"] == "carried"
    assert ("劳动合同法", 46) in cited(body)
    turns = httpx.get(
        service.base_url + "/v1/audit/turns",
        headers=service.auth("reviewer"),
        params={"limit": 5},
        timeout=60,
    ).json()
    mine = [t for t in turns if t["conversation_id"] == cid]
    assert {t["question"] for t in mine} == {WAGES, COMPENSATION}


def test_bad_conversation_id_is_a_clear_422(service) -> None:
    resp = post(service, "/v1/ask", json={"question": WAGES, "conversation_id": "no spaces allowed"})
    assert resp.status_code == 422 and "conversation_id" in resp.text


def test_chat_completions_use_every_message(service) -> None:
    """Issue 12: the follow-up came back with 竞业限制 articles because only the last message was read."""
    messages = [
        {"role": "user", "content": WAGES},
        {"role": "assistant", "content": "【分类】劳动合同 …"},
        {"role": "user", "content": COMPENSATION},
    ]
    resp = post(service, "/v1/chat/completions", json={"model": "auto", "messages": messages})
    assert resp.status_code == 200, resp.text
    extra = resp.json()["yiju"]
    assert extra["domain"] == "legal" and extra["status"] == "answered"
    assert extra["standalone_question"].startswith("公司拖欠工资，劳动者解除劳动合同")
    laws = {c["law"] for c in extra["citations"]}
    assert ("劳动合同法", 46) in [(c["law"], c["article_no"]) for c in extra["citations"]]
    assert laws <= {"劳动合同法", "劳动合同法实施条例", "劳动法"}, laws
    assert extra["conversation_id"].startswith("oa-")
    # The same request again belongs to the same conversation (derived id), and streaming agrees.
    again = post(service, "/v1/chat/completions", json={"messages": messages, "stream": True})
    final = [json.loads(line[6:]) for line in again.text.splitlines() if line.startswith("data: {")][-1][
        "yiju"
    ]
    assert final["conversation_id"] == extra["conversation_id"]
    assert final["standalone_question"] == extra["standalone_question"]


def test_feedback_is_stored_and_listed_for_reviewers(service) -> None:
    answer = post(service, "/v1/ask", role=None, json={"question": WAGES}).json()
    tid = answer["turn_id"]
    up = post(service, "/v1/feedback", role=None, json={"turn_id": tid, "rating": "up"})
    assert up.status_code == 200 and up.json()["rating"] == "up"
    down = post(
        service,
        "/v1/feedback",
        role=None,
        json={"turn_id": tid, "rating": "down", "comment": "没有说经济补偿"},
    )
    assert down.status_code == 200
    assert post(service, "/v1/feedback", json={"turn_id": "0" * 32, "rating": "up"}).status_code == 404
    assert post(service, "/v1/feedback", json={"turn_id": tid, "rating": "meh"}).status_code == 422
    listed = httpx.get(
        service.base_url + "/v1/audit/feedback",
        headers=service.auth("reviewer"),
        params={"rating": "down"},
        timeout=60,
    )
    assert listed.status_code == 200
    mine = [f for f in listed.json() if f["turn_id"] == tid]
    assert len(mine) == 1 and mine[0]["comment"] == "没有说经济补偿" and mine[0]["question"] == WAGES
    anonymous = httpx.get(service.base_url + "/v1/audit/feedback", timeout=60)
    assert anonymous.status_code == 401
