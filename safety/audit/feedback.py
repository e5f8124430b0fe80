"""Askers' 👍/👎 feedback in the audit database (table `feedback`, migration 0005_feedback).

A mixin of the audit store: it uses the store's write transaction, reads and PII masking, so feedback is
committed, masked and append-only exactly like turns. Reviewers read it with `list_feedback()`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Literal

from knowledge.database import Transaction, utc_now

FEEDBACK_COMMENT_MAX = 2000
Rating = Literal["up", "down"]


class FeedbackMixin:
    """`add_feedback` / `list_feedback` for a store that provides `_read`, `_write` and `_mask`."""

    _read: Callable[..., list]
    _write: Callable[[], AbstractContextManager[Transaction]]
    _mask: Callable[[str], str]
    _unknown_turn: Callable[[str], Exception]  # the store's not-found error (ReviewNotFound)

    def add_feedback(
        self, turn_id: str, rating: Rating, comment: str = "", client_id: str | None = None
    ) -> int:
        """Store an asker's 👍 ("up") or 👎 ("down") on a turn, with an optional comment; returns its id.

        Feedback is append-only: changing one's mind adds a row and the latest counts (`list_feedback`).
        Raises ReviewNotFound for an unknown turn, ValueError for a bad rating or an over-long comment."""
        if rating not in ("up", "down"):
            raise ValueError(f"rating must be 'up' or 'down', not {rating!r}")
        comment = (comment or "").strip()
        if len(comment) > FEEDBACK_COMMENT_MAX:
            raise ValueError(f"comment is {len(comment)} characters, over the {FEEDBACK_COMMENT_MAX} limit")
        with self._write() as tx:
            if tx.execute("SELECT 1 FROM turns WHERE turn_id = ?", (turn_id,)).fetchone() is None:
                raise self._unknown_turn(f"no turn {turn_id}")
            row = tx.execute(
                "INSERT INTO feedback (turn_id, rating, comment, client_id, created_at) VALUES (?, ?, ?, ?, ?)"
                " RETURNING id",
                (turn_id, rating, self._mask(comment), client_id, utc_now()),
            ).fetchone()
            return int(row[0])

    def list_feedback(self, rating: Rating | None = None, limit: int = 50, offset: int = 0) -> list[dict]:
        """Feedback for reviewers, newest first: each turn's latest rating with its comment, the question (and
        how it was understood), the answer shown, domain, status and conversation. `rating` filters."""
        where, args = "", []
        if rating is not None:
            if rating not in ("up", "down"):
                raise ValueError(f"rating must be 'up' or 'down', not {rating!r}")
            where, args = "WHERE f.rating = ?", [rating]
        rows = self._read(
            "SELECT f.id, f.turn_id, f.rating, f.comment, f.client_id, f.created_at, t.domain, t.question,"
            " t.standalone_question, t.status, t.final_answer, t.conversation_id, t.created_at AS asked_at"
            " FROM feedback f JOIN turns t ON t.turn_id = f.turn_id"
            " JOIN (SELECT turn_id, MAX(id) AS last FROM feedback GROUP BY turn_id) l ON l.last = f.id"
            f" {where} ORDER BY f.id DESC LIMIT ? OFFSET ?",
            (*args, int(limit), int(offset)),
        )
        return [dict(r) for r in rows]


__all__ = ["FEEDBACK_COMMENT_MAX", "FeedbackMixin", "Rating"]
