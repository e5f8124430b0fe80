"""Reading the review queue for reviewers' screens: filtered queues and the decision log.

A mixin of the audit store (like `safety.audit.feedback`): it only reads, through the store's `_read`.
Writing a decision stays `AuditStore.resolve` (one conditional UPDATE + one append-only row).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from safety.types import ReviewItem

REVIEW_STATES = ("pending", "approved", "edited", "rejected")

# The rules that held a turn are a JSON array in `turns.rules`; each dialect unnests it its own way.
_RULE_MATCH = {
    "sqlite": "EXISTS (SELECT 1 FROM json_each(t.rules) WHERE json_each.value = ?)",
    "postgresql": "EXISTS (SELECT 1 FROM jsonb_array_elements_text(t.rules::jsonb) AS e(value) WHERE e.value = ?)",
}
_ALL_RULES = {
    "sqlite": "SELECT DISTINCT json_each.value FROM reviews r JOIN turns t ON t.turn_id = r.turn_id,"
    " json_each(t.rules) ORDER BY 1",
    "postgresql": "SELECT DISTINCT e.value FROM reviews r JOIN turns t ON t.turn_id = r.turn_id,"
    " jsonb_array_elements_text(t.rules::jsonb) AS e(value) ORDER BY 1",
}


class ReviewMixin:
    """`review_queue` / `review_rules` / `decision_log` for a store that provides `_read`, `dialect`, `history`."""

    _read: Callable[..., list]

    @property
    def dialect(self) -> str:  # provided by the store (its database's dialect)
        raise NotImplementedError

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
            where.append(_RULE_MATCH[self.dialect])
            args.append(rule)
        order = "r.created_at, t.rowid" if state == "pending" else "r.created_at DESC, t.rowid DESC"
        rows = self._read(
            "SELECT t.*, r.state AS review_state FROM reviews r JOIN turns t ON t.turn_id = r.turn_id"
            f" {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {order} LIMIT ?",
            (*args, int(limit)),
        )
        return [self._queue_item(r) for r in rows]

    def review_rules(self) -> list[str]:
        """Every rule that has held a turn for review (for a filter's choices), sorted."""
        return [str(r[0]) for r in self._read(_ALL_RULES[self.dialect])]

    def decision_log(self, limit: int = 100, *, domain: str | None = None) -> list[dict]:
        """Review decisions, newest first, each with its turn: time asked, domain, question, rules, decision,
        reviewer, note, asker_note and when it was decided."""
        where, args = "", []
        if domain:
            where, args = "WHERE t.domain = ?", [domain]
        rows = self._read(
            "SELECT d.turn_id, t.created_at, t.domain, t.question, t.rules, d.decision, d.reviewer, d.note,"
            " d.asker_note, d.decided_at FROM decisions d JOIN turns t ON t.turn_id = d.turn_id"
            f" {where} ORDER BY d.id DESC LIMIT ?",
            (*args, int(limit)),
        )
        out = []
        for r in rows:
            d = dict(r)
            d["rules"] = json.loads(d["rules"]) if isinstance(d["rules"], str) else d["rules"]
            out.append(d)
        return out

    def _queue_item(self, row: Any) -> ReviewItem:
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
