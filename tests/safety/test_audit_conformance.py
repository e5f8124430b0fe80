"""The audit store's guarantees, one suite run on both backends (SQLite file and a real PostgreSQL server):
append-only in the database, exactly one review decision wins (also between replicas), named migrations
applied once, PII masked before it is stored, nothing lost in exports."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import safety.audit.export as export_module
from knowledge.database import Database, IntegrityError, open_database
from safety.audit import MIGRATIONS, AuditStore, DuplicateTurn, ReviewConflict, ReviewNotFound, SelfReview
from safety.pii import mask_pii
from safety.types import Turn, Verdict

PHONE = "13812345678"


def _replica(target: str) -> Database:
    if target.startswith("postgresql://"):
        from knowledge.database.postgres import PostgresDatabase

        return PostgresDatabase(target, max_connections=6)  # its own pool, like another server process
    return open_database(target)


@pytest.fixture
def store(db_target: str):
    s = AuditStore(_replica(db_target), mask_pii=mask_pii, owns_database=True)
    yield s
    s.close()


def _turn(
    i: int, *, flagged: bool = False, domain: str = "legal", rule: str = "intercept.guarantee", **kw
) -> Turn:
    verdicts = [Verdict(action="flag", rule=rule, message="held")] if flagged else []
    return Turn(
        domain=domain,
        question=kw.pop("question", f"问题{i}，电话{PHONE}"),
        status=kw.pop("status", "under_review" if flagged else "answered"),
        final_answer=kw.pop("final_answer", f"答案{i}"),
        raw_answer=f"raw {i}",
        retrieved=[{"id": f"劳动合同法@2012-12-28#{i}", "score": 1.0}],
        verdicts=verdicts,
        flagged=flagged,
        **kw,
    )


def test_round_trip_and_reads(store: AuditStore) -> None:
    a = store.record(_turn(1, conversation_id="c1"))
    b = store.record(_turn(2, flagged=True, conversation_id="c1", standalone_question="完整的问题"))
    c = store.record(_turn(3, flagged=True, domain="medical", rule="intercept.diagnosis"))
    assert store.count() == 3 and store.count("pending") == 2 and store.count("flagged") == 2
    assert [t["turn_id"] for t in store.list_turns()] == [c, b, a]
    assert [t["turn_id"] for t in store.list_turns(status="answered")] == [a]
    assert [r["turn_id"] for r in store.conversation_turns("c1")] == [a, b]
    got = store.get(b)
    assert got["retrieved"][0]["id"].endswith("#2") and got["flagged"] is True and "rowid" not in got
    assert got["standalone_question"] == "完整的问题" and got["review_state"] == "pending"
    assert [p.turn_id for p in store.pending()] == [b, c]
    assert store.find_ids(b[:6]) == [b]
    assert [i.turn_id for i in store.review_queue(domain="medical")] == [c]
    assert [i.turn_id for i in store.review_queue(rule="intercept.guarantee")] == [b]
    assert store.review_rules() == ["intercept.diagnosis", "intercept.guarantee"]
    assert store.get("nope") is None and store.review_item(a) is None
    with pytest.raises(DuplicateTurn):
        store.record(_turn(9, turn_id=a))


def test_pii_is_masked_before_it_is_stored(store: AuditStore) -> None:
    tid = store.record(_turn(1, flagged=True))
    store.resolve(tid, "alice", "edit", note=f"call {PHONE}", edited_answer=f"改后 {PHONE}", asker_note=PHONE)
    store.add_feedback(tid, "down", f"我的电话{PHONE}")
    for table in ("turns", "decisions", "feedback"):
        raw = json.dumps([list(r) for r in store.db.read(f"SELECT * FROM {table}")], ensure_ascii=False)
        assert PHONE not in raw, table


def test_history_is_append_only_in_the_database(store: AuditStore) -> None:
    tid = store.record(_turn(1, flagged=True))
    store.resolve(tid, "alice", "approve")
    store.add_feedback(tid, "up")
    statements = [
        "UPDATE turns SET final_answer = 'x'",
        "DELETE FROM turns",
        "UPDATE decisions SET note = 'x'",
        "DELETE FROM decisions",
        "UPDATE reviews SET state = 'pending'",
        "UPDATE feedback SET rating = 'down'",
        "DELETE FROM feedback",
    ]
    if store.dialect == "postgresql":  # TRUNCATE skips row triggers; statement triggers refuse it
        statements += ["TRUNCATE turns CASCADE", "TRUNCATE decisions", "TRUNCATE feedback"]
    for sql in statements:
        with pytest.raises(IntegrityError, match="append-only|already decided"):
            with store.db.transaction() as tx:
                tx.execute(sql)
    assert store.count() == 1 and store.get(tid)["review_state"] == "approved"


def test_exactly_one_decision_wins_across_replicas(db_target: str) -> None:
    stores = [AuditStore(_replica(db_target), owns_database=True) for _ in range(2)]
    try:
        tid = stores[0].record(_turn(1, flagged=True))
        outcomes: list[str] = []
        barrier = threading.Barrier(8)

        def decide(i: int) -> None:
            barrier.wait()
            try:
                stores[i % 2].resolve(tid, f"reviewer{i}", "approve" if i % 3 else "reject", note=str(i))
                outcomes.append("won")
            except ReviewConflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=decide, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
        history = stores[1].history(tid)
        assert len(history) == 1
        assert stores[0].get(tid)["review_state"] == (
            "approved" if history[0]["decision"] == "approve" else "rejected"
        )
    finally:
        for s in stores:
            s.close()


def test_decision_rules(store: AuditStore) -> None:
    tid = store.record(_turn(1, flagged=True, client_id="key:abc"))
    with pytest.raises(SelfReview):
        store.resolve(tid, "alice", "approve", reviewer_client_id="key:abc")
    with pytest.raises(ReviewNotFound):
        store.resolve("0" * 32, "alice", "approve")
    with pytest.raises(ValueError):
        store.resolve(tid, "alice", "edit")
    released = {"category": "劳动合同", "points": ["要点"], "rendered": "【分类】劳动合同"}
    store.resolve(tid, "bob", "approve", note="ok", asker_note="已核实", released=released)
    with pytest.raises(ReviewConflict):
        store.resolve(tid, "carol", "reject")
    got = store.get(tid)
    assert got["released"] == released and got["asker_note"] == "已核实"
    assert [d["reviewer"] for d in store.decision_log()] == ["bob"]


def test_migrations_are_named_and_applied_once(db_target: str) -> None:
    first = AuditStore(_replica(db_target), owns_database=True)
    try:
        assert [name for name, _ in first.migrations()] == [m.name for m in MIGRATIONS]
        assert first.migrate() == []
        second = AuditStore(_replica(db_target), owns_database=True)  # another replica starting later
        assert second.migrations() == first.migrations()
        second.close()
    finally:
        first.close()


def test_feedback(store: AuditStore) -> None:
    tid = store.record(_turn(1))
    first = store.add_feedback(tid, "up")
    second = store.add_feedback(tid, "down", "不对")
    assert second > first
    assert [(f["turn_id"], f["rating"], f["comment"]) for f in store.list_feedback()] == [
        (tid, "down", "不对")
    ]
    with pytest.raises(ReviewNotFound):
        store.add_feedback("nope", "up")


def test_odd_text_is_stored(store: AuditStore) -> None:
    odd = "Ｈｅｌｌｏ 😀 'quote\" ;DROP TABLE turns;-- 100% \\ ?"
    a = store.record(_turn(1, question=odd, final_answer=odd))
    b = store.record(_turn(2, question="bad \ud800 surrogate and \x00 nul", turn_id="id\ud800"))
    assert store.get(a)["question"] == odd
    stored = store.list_turns(limit=1)[0]
    assert b == "id\ud800" and stored["turn_id"] == "id\\ud800" and "\\ud800" in stored["question"]
    assert "nul" in stored["question"]  # NUL kept on SQLite, written as \x00 on PostgreSQL


def test_export_pages_through_everything(store: AuditStore, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(export_module, "_PAGE", 7)
    ids = [store.record(_turn(i, flagged=i % 5 == 0)) for i in range(23)]
    store.resolve(ids[5], "alice", "reject", note=f"phone {PHONE}")
    rows = list(store.iter_export_rows())
    assert [r["turn_id"] for r in rows] == ids
    assert rows[5]["decision"] == "reject" and PHONE not in rows[5]["note"]
    assert store.export(tmp_path / "a.csv", "csv") == 23
    assert store.export(tmp_path / "a.jsonl") == 23
    assert (tmp_path / "a.jsonl").stat().st_mode & 0o777 == 0o600
