"""Reading the review queue for reviewers' screens: filtered queues and the decision log.

A mixin of `SqliteAuditStore` (like `safety.feedback`): it only reads, through the store's connection.
Writing a decision stays `SqliteAuditStore.resolve` (one conditional UPDATE + one append-only row).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime

from safety.types import ReviewItem

REVIEW_STATES = ("pending", "approved", "edited", "rejected")


class ReviewMixin:
    """`review_queue` / `decision_log` for a store that provides `_conn` and `history`."""

    _conn: Callable[[], sqlite3.Connection]
    history: Callable[[str], list[dict]]

    def review_queue(
        self,
        state: str | None = "pending",
        *,
        domain: str | None = None,
        rule: str | None = None,
        limit: int = 200,
    ) -> list[ReviewItem]:
        """Flagged turns in `state` (None: every state), optionally of one domain and held by one rule.

        Pending items come oldest first (the order to work through them); decided ones newest first."""
        if state is not None and state not in REVIEW_STATES:
            raise ValueError(f"state must be one of {', '.join(REVIEW_STATES)}, not {state!r}")
        where, args = [], []
        if state is not None:
            where.append("r.state = ?")
            args.append(state)
        if domain:
            where.append("t.domain = ?")
            args.append(domain)
        if rule:
            where.append("EXISTS (SELECT 1 FROM json_each(t.rules) WHERE json_each.value = ?)")
            args.append(rule)
        order = "r.created_at, t.rowid" if state == "pending" else "r.created_at DESC, t.rowid DESC"
        rows = (
            self._conn()
            .execute(
                "SELECT t.*, r.state AS review_state FROM reviews r JOIN turns t ON t.turn_id = r.turn_id"
                f" {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {order} LIMIT ?",
                (*args, int(limit)),
            )
            .fetchall()
        )
        return [self._queue_item(r) for r in rows]

    def review_rules(self) -> list[str]:
        """Every rule that has held a turn for review (for a filter's choices), sorted."""
        rows = self._conn().execute(
            "SELECT DISTINCT json_each.value FROM reviews r JOIN turns t ON t.turn_id = r.turn_id,"
            " json_each(t.rules) ORDER BY 1"
        )
        return [str(r[0]) for r in rows]

    def decision_log(self, limit: int = 100, *, domain: str | None = None) -> list[dict]:
        """Review decisions, newest first, each with its turn: time asked, domain, question, rules, decision,
        reviewer, note, asker_note and when it was decided."""
        where, args = "", []
        if domain:
            where, args = "WHERE t.domain = ?", [domain]
        rows = (
            self._conn()
            .execute(
                "SELECT d.turn_id, t.created_at, t.domain, t.question, t.rules, d.decision, d.reviewer, d.note,"
                " d.asker_note, d.decided_at FROM decisions d JOIN turns t ON t.turn_id = d.turn_id"
                f" {where} ORDER BY d.id DESC LIMIT ?",
                (*args, int(limit)),
            )
            .fetchall()
        )
        out = []
        for r in rows:
            d = dict(r)
            d["rules"] = json.loads(d["rules"]) if isinstance(d["rules"], str) else d["rules"]
            out.append(d)
        return out

    def _queue_item(self, row: sqlite3.Row) -> ReviewItem:
        return ReviewItem(
            turn_id=row["turn_id"],
            created_at=datetime.fromisoformat(row["created_at"]),
            domain=row["domain"],
            question=row["question"],
            final_answer=row["final_answer"],
            raw_answer=row["raw_answer"],
            retrieved=json.loads(row["retrieved"]),
            rules=json.loads(row["rules"]),
            state=row["review_state"],
            history=self.history(row["turn_id"]),
        )


__all__ = ["REVIEW_STATES", "ReviewMixin"]
