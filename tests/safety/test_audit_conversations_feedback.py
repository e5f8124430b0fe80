"""The audit trail's conversation columns (migration 0004) and askers' feedback (0005), on real SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import safety.audit.store as audit_module
from safety.audit import ReviewNotFound, SqliteAuditStore
from safety.pii import mask_pii
from safety.types import Turn


def _turn(question: str, conversation_id: str | None = None, standalone: str = "", **kw) -> Turn:
    return Turn(
        domain=kw.pop("domain", "legal"),
        question=question,
        status=kw.pop("status", "answered"),
        final_answer=kw.pop("final_answer", "【分类】劳动合同"),
        conversation_id=conversation_id,
        standalone_question=standalone,
        **kw,
    )


def test_database_from_before_conversations_is_migrated_in_place(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "audit.sqlite"
    monkeypatch.setattr(audit_module, "MIGRATIONS", audit_module.MIGRATIONS[:3])
    SqliteAuditStore(path).close()  # the first release's schema
    monkeypatch.undo()
    old_id = "f" * 32
    raw = sqlite3.connect(path)
    raw.execute(
        "INSERT INTO turns (turn_id, created_at, domain, question, status) VALUES (?, ?, 'legal', '旧问题', 'answered')",
        (old_id, "2026-01-01T00:00:00+00:00"),
    )
    raw.commit()
    raw.close()
    store = SqliteAuditStore(path)
    names = [name for name, _ in store.migrations()]
    assert names.index("0004_conversations") + 1 == names.index("0005_feedback")  # later ones may follow
    row = store.get(old_id)
    assert row["question"] == "旧问题" and row["conversation_id"] is None and row["standalone_question"] == ""
    store.close()


def test_conversation_turns_oldest_first_with_standalone_questions(tmp_path: Path) -> None:
    store = SqliteAuditStore(tmp_path / "audit.sqlite")
    a = store.record(_turn("公司拖欠工资，劳动者可以解除劳动合同吗？", "conv-aaaa-1"))
    store.record(_turn("别的对话", "conv-bbbb-2"))
    b = store.record(
        _turn(
            "那可以要求经济补偿吗？", "conv-aaaa-1", "公司拖欠工资，劳动者解除劳动合同，可以要求经济补偿吗？"
        )
    )
    rows = store.conversation_turns("conv-aaaa-1")
    assert [r["turn_id"] for r in rows] == [a, b]
    assert rows[1]["standalone_question"].startswith("公司拖欠工资")
    assert [r["turn_id"] for r in store.conversation_turns("conv-aaaa-1", limit=1)] == [b]
    assert store.conversation_turns("conv-none-000") == []
    exported = list(store.iter_export_rows())
    assert {r["conversation_id"] for r in exported} == {"conv-aaaa-1", "conv-bbbb-2"}
    store.close()


def test_feedback_latest_per_turn_filters_and_unknown_turn(tmp_path: Path) -> None:
    store = SqliteAuditStore(tmp_path / "audit.sqlite")
    t1 = store.record(_turn("问题一", "conv-aaaa-1"))
    t2 = store.record(_turn("问题二", "conv-aaaa-1", "问题一，问题二？", domain="medical"))
    store.add_feedback(t1, "up")
    store.add_feedback(t2, "up", client_id="ip:1")
    store.add_feedback(t2, "down", "引用的条文和问题无关", client_id="ip:1")  # changed their mind
    listed = store.list_feedback()
    assert [(f["turn_id"], f["rating"]) for f in listed] == [(t2, "down"), (t1, "up")]
    top = listed[0]
    assert top["comment"] == "引用的条文和问题无关" and top["domain"] == "medical"
    assert top["standalone_question"] == "问题一，问题二？" and top["conversation_id"] == "conv-aaaa-1"
    assert [f["turn_id"] for f in store.list_feedback(rating="down")] == [t2]
    assert [f["turn_id"] for f in store.list_feedback(rating="up")] == [t1]
    with pytest.raises(ReviewNotFound):
        store.add_feedback("0" * 32, "up")
    with pytest.raises(ValueError, match="rating"):
        store.add_feedback(t1, "meh")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2000"):
        store.add_feedback(t1, "down", "长" * 2001)
    store.close()


def test_feedback_is_append_only_and_masked(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    store = SqliteAuditStore(path, mask_pii=mask_pii)
    tid = store.record(_turn("问题"))
    store.add_feedback(tid, "down", "回答不对，请打我电话13812345678")
    assert "13812345678" not in store.list_feedback()[0]["comment"]
    store.close()
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE feedback SET rating = 'up'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM feedback")
    raw.close()
    assert b"13812345678" not in path.read_bytes()
