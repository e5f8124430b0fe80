"""The audit trail: every turn (answered, refused, flagged, failed) and the review queue, in one database.

Design choices:
- The database comes from the one helper (knowledge.database): a SQLite file in the data directory (the
  embedded default; WAL, per-thread connections, BEGIN IMMEDIATE writes, busy timeout) or the PostgreSQL
  database every replica shares. The SQL below is written once for both.
- One commit per record (SQLite synchronous=FULL; PostgreSQL's default synchronous_commit): once `record()`
  returns, the row survives `kill -9` of the server.
- Schema changes are append-only named migrations (safety/audit/migrations.py), each applied once.
- History is never overwritten: `turns` and `decisions` reject UPDATE/DELETE through triggers in the
  database; an edit is a decision row holding the edited text beside the original answer. Only the review
  state moves, exactly once, from 'pending' via a conditional UPDATE — on either backend the loser of a race
  (another thread, another process, another replica) sees no row change and gets ReviewConflict.
- PII: when a mask function is given, question / answers / verdicts are masked before they touch the
  database, so review copies and exports can never leak what was masked.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from knowledge.database import (
    Database,
    DatabaseError,
    SqliteDatabase,
    Transaction,
    UniqueViolation,
    is_postgres_url,
    open_database,
    utc_now,
)
from safety.audit.errors import AuditError, DuplicateTurn, ReviewConflict, ReviewNotFound, SelfReview
from safety.audit.export import ExportMixin
from safety.audit.feedback import FeedbackMixin
from safety.audit.migrations import MIGRATIONS, MIGRATIONS_TABLE
from safety.audit.review import ReviewMixin
from safety.audit.text import json_text, storable_text
from safety.types import Decision, ReviewItem, Turn, Verdict

_STATE_OF = {"approve": "approved", "edit": "edited", "reject": "rejected"}
_REVIEW_STATES = ("pending", "approved", "edited", "rejected")
_JSON_COLS = ("retrieved", "verdicts", "rules")


class AuditStore(ReviewMixin, FeedbackMixin, ExportMixin):
    """Append-only audit trail and review queue (safe to share between threads, processes and replicas).

    `database`: a `knowledge.database.Database`, a SQLite file path, or a postgresql:// URL.
    """

    def __init__(
        self,
        database: Database | Path | str,
        mask_pii: Callable[[str], str] | None = None,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout_s: float = 30.0,
        owns_database: bool | None = None,
    ) -> None:
        self.mask_pii = mask_pii
        self._owns = not isinstance(database, Database) if owns_database is None else owns_database
        try:
            if isinstance(database, Database):
                self.db = database
            elif is_postgres_url(database):
                self.db = open_database(str(database))
            else:
                self.db = SqliteDatabase(
                    Path(database), synchronous=synchronous, busy_timeout_s=busy_timeout_s
                )
        except DatabaseError as e:
            raise AuditError(f"cannot create audit database {database}: {e}") from e
        self.path = getattr(self.db, "path", None)  # the SQLite file (None on PostgreSQL)
        self.migrate()

    # ------------------------------------------------------------------------------------------ plumbing

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def _conn(self):
        """This thread's SQLite connection (for tests that inspect the file; SQLite only)."""
        return self.db.connection()  # type: ignore[attr-defined]

    @contextmanager
    def _write(self) -> Iterator[Transaction]:
        """One write transaction: committed on success, rolled back (nothing half-written) on error."""
        with self.db.transaction() as tx:
            yield tx

    def _read(self, sql: str, params: tuple = ()) -> list:
        try:
            return self.db.read(sql, params)
        except DatabaseError as e:
            raise AuditError(f"cannot read the audit trail: {e}") from e

    def migrate(self) -> list[str]:
        """Apply pending named migrations in order, each once; returns the names applied now."""
        try:
            return self.db.migrate(MIGRATIONS, MIGRATIONS_TABLE)
        except DatabaseError as e:
            raise AuditError(f"cannot prepare audit database {self.db.where}: {e}") from e

    def migrations(self) -> list[tuple[str, str]]:
        """(name, applied_at) of every applied migration, in order."""
        return self.db.applied_migrations(MIGRATIONS_TABLE)

    def close(self) -> None:
        """Close the database if this store opened it."""
        if self._owns:
            self.db.close()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _storable(self, text: str) -> str:
        return storable_text(text, nul=self.db.dialect == "sqlite")

    def _mask(self, text: str) -> str:
        return self._storable(self.mask_pii(text) if self.mask_pii and text else text)

    def _mask_released(self, released: dict) -> dict:
        """A released answer with its reviewer-written text masked (citations are knowledge-base text)."""
        out = dict(released)
        for key in ("category", "rendered"):
            if isinstance(out.get(key), str):
                out[key] = self._mask(out[key])
        if isinstance(out.get("points"), list):
            out["points"] = [self._mask(p) if isinstance(p, str) else p for p in out["points"]]
        return out

    @staticmethod
    def _unknown_turn(message: str) -> Exception:
        return ReviewNotFound(message)

    # ------------------------------------------------------------------------------------------ writing

    def record(self, turn: Turn) -> str:
        """Store a turn (and, if flagged or under review, its pending review item); returns the turn id.

        Committed before returning. Raises DuplicateTurn when the id was already recorded.
        """
        turn_id = turn.turn_id or uuid.uuid4().hex
        created = turn.created_at if turn.created_at.tzinfo else turn.created_at.replace(tzinfo=UTC)
        created_at = created.astimezone(UTC).isoformat(timespec="microseconds")
        verdicts = [v.model_dump() for v in turn.verdicts]
        rules = sorted(_rule_names(turn.verdicts))
        flagged = bool(turn.flagged or turn.status == "under_review")
        row = (
            turn_id,
            created_at,
            turn.domain,
            self._mask(turn.question),
            turn.status,
            json_text(turn.retrieved),
            turn.generator_kind,
            turn.generator_model,
            turn.adapter_name,
            turn.adapter_version,
            turn.kb_version,
            self._mask(turn.raw_answer),
            self._mask(turn.final_answer),
            self._mask(json_text(verdicts)),
            json_text(rules),
            int(flagged),
            float(turn.latency_ms),
            turn.client_id,
            int(self.mask_pii is not None),
            turn.conversation_id,
            self._mask(turn.standalone_question),
        )
        # Every text the client could have written (ids included) must be storable, or the turn is lost.
        row = cast(Any, tuple(self._storable(v) if isinstance(v, str) else v for v in row))
        try:
            with self._write() as tx:
                tx.execute(
                    "INSERT INTO turns (turn_id, created_at, domain, question, status, retrieved, generator_kind,"
                    " generator_model, adapter_name, adapter_version, kb_version, raw_answer, final_answer,"
                    " verdicts, rules, flagged, latency_ms, client_id, pii_masked, conversation_id,"
                    " standalone_question)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                if flagged:
                    tx.execute(
                        "INSERT INTO reviews (turn_id, state, created_at) VALUES (?, 'pending', ?)",
                        (turn_id, created_at),
                    )
        except UniqueViolation as e:
            raise DuplicateTurn(f"turn {turn_id} is already recorded") from e
        except DatabaseError as e:
            raise AuditError(f"could not record turn {turn_id}: {e}") from e
        return turn_id

    def resolve(
        self,
        turn_id: str,
        reviewer: str,
        decision: Decision,
        note: str = "",
        edited_answer: str | None = None,
        reviewer_client_id: str | None = None,
        *,
        asker_note: str = "",
        released: dict | None = None,
    ) -> None:
        """Decide a pending review item: approve, edit (with `edited_answer`) or reject.

        `note` stays in the audit; `asker_note` is shown to the asker; `released` is the answer as released
        (built by `assistant.release`: verified citations, disclaimer, rendered text).
        Exactly one decision wins per item; any later (or concurrently losing) call raises ReviewConflict.
        Raises ReviewNotFound for an unknown / unflagged turn, SelfReview when `reviewer_client_id` (the
        deciding key's client id, as recorded with turns) is the one that asked, and ValueError for
        invalid arguments.
        """
        if decision not in _STATE_OF:
            raise ValueError(f"decision must be approve, edit or reject, not {decision!r}")
        if not reviewer or not reviewer.strip():
            raise ValueError("a reviewer name is required")
        if decision == "edit" and not (edited_answer and edited_answer.strip()):
            raise ValueError("an edit decision needs the edited answer text")
        if decision != "edit" and edited_answer is not None:
            raise ValueError("edited_answer is only valid with decision 'edit'")
        if decision == "reject" and released is not None:
            raise ValueError("a rejected answer is not released")
        now = utc_now()
        try:
            with self._write() as tx:
                if reviewer_client_id:
                    asker = tx.execute("SELECT client_id FROM turns WHERE turn_id = ?", (turn_id,)).fetchone()
                    if asker is not None and asker[0] == reviewer_client_id:
                        raise SelfReview(
                            f"turn {turn_id} was asked with your own key; another reviewer must decide"
                        )
                # The one conditional UPDATE: under concurrent deciders (threads, processes, replicas) the
                # database lets exactly one of them move the state away from 'pending'.
                cur = tx.execute(
                    "UPDATE reviews SET state = ?, decided_at = ? WHERE turn_id = ? AND state = 'pending'",
                    (_STATE_OF[decision], now, turn_id),
                )
                if cur.rowcount != 1:
                    row = tx.execute("SELECT state FROM reviews WHERE turn_id = ?", (turn_id,)).fetchone()
                    if row is None:
                        raise ReviewNotFound(f"no review item for turn {turn_id}")
                    raise ReviewConflict(f"turn {turn_id} was already decided ({row['state']})")
                tx.execute(
                    "INSERT INTO decisions (turn_id, reviewer, decision, note, edited_answer, decided_at,"
                    " asker_note, released) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        turn_id,
                        self._storable(reviewer.strip()),
                        decision,
                        self._mask(note),
                        self._mask(edited_answer or "") or None,
                        now,
                        self._mask(asker_note or ""),
                        json_text(self._mask_released(released)) if released is not None else None,
                    ),
                )
        except UniqueViolation as e:  # the decisions row of a concurrent winner
            raise ReviewConflict(f"turn {turn_id} was already decided") from e
        except DatabaseError as e:
            raise AuditError(f"could not store the decision on turn {turn_id}: {e}") from e

    # ------------------------------------------------------------------------------------------ reading

    def conversation_turns(self, conversation_id: str, limit: int = 10) -> list[dict]:
        """The last `limit` turns of a conversation, oldest first (question, standalone question, domain…)."""
        rows = self._read(
            "SELECT turn_id, created_at, domain, question, standalone_question, status FROM turns"
            " WHERE conversation_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (conversation_id, int(limit)),
        )
        return [dict(r) for r in reversed(rows)]

    def _turn_dict(self, row: Any) -> dict:
        d = dict(row)
        d.pop("rowid", None)  # PostgreSQL's ordering column; SQLite's is implicit
        for col in _JSON_COLS:
            if col in d and isinstance(d[col], str):
                d[col] = json.loads(d[col])
        d["flagged"] = bool(d.get("flagged"))
        d["pii_masked"] = bool(d.get("pii_masked"))
        return d

    def find_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Turn ids starting with `prefix` (for CLIs that accept short ids)."""
        if not prefix:
            return []
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._read(
            "SELECT turn_id FROM turns WHERE turn_id LIKE ? ESCAPE '\\' ORDER BY rowid LIMIT ?",
            (self._storable(escaped) + "%", int(limit)),
        )
        return [r[0] for r in rows]

    def history(self, turn_id: str) -> list[dict]:
        """Review decisions for a turn, oldest first (`released`: the released answer as a dict, or None)."""
        rows = self._read(
            "SELECT reviewer, decision, note, edited_answer, decided_at, asker_note, released FROM decisions"
            " WHERE turn_id = ? ORDER BY id",
            (self._storable(turn_id),),
        )
        return [_decision_dict(r) for r in rows]

    def get(self, turn_id: str) -> dict | None:
        """Everything stored about one turn (review state and decision history included), or None."""
        rows = self._read(
            "SELECT t.*, r.state AS review_state, r.decided_at AS decided_at FROM turns t"
            " LEFT JOIN reviews r ON r.turn_id = t.turn_id WHERE t.turn_id = ?",
            (self._storable(turn_id),),
        )
        if not rows:
            return None
        d = self._turn_dict(rows[0])
        d["history"] = self.history(turn_id)
        edits = [h["edited_answer"] for h in d["history"] if h["edited_answer"]]
        d["edited_answer"] = edits[-1] if edits else None
        last = d["history"][-1] if d["history"] else {}
        d["released"] = last.get("released")
        d["asker_note"] = last.get("asker_note") or ""
        return d

    def _review_item(self, row: Any) -> ReviewItem:
        d = self._turn_dict(row)
        return ReviewItem(
            turn_id=d["turn_id"],
            created_at=datetime.fromisoformat(d["created_at"]),
            domain=d["domain"],
            question=d["question"],
            final_answer=d["final_answer"],
            raw_answer=d["raw_answer"],
            retrieved=d["retrieved"],
            rules=d["rules"],
            state=d["review_state"],
            history=self.history(d["turn_id"]),
        )

    def pending(self, limit: int = 50) -> list[ReviewItem]:
        """Undecided review items, oldest first."""
        rows = self._read(
            "SELECT t.*, r.state AS review_state FROM reviews r JOIN turns t ON t.turn_id = r.turn_id"
            " WHERE r.state = 'pending' ORDER BY r.created_at, t.rowid LIMIT ?",
            (int(limit),),
        )
        return [self._review_item(r) for r in rows]

    def review_item(self, turn_id: str) -> ReviewItem | None:
        """The review item of a flagged turn (any state), or None."""
        rows = self._read(
            "SELECT t.*, r.state AS review_state FROM reviews r JOIN turns t ON t.turn_id = r.turn_id"
            " WHERE r.turn_id = ?",
            (self._storable(turn_id),),
        )
        return self._review_item(rows[0]) if rows else None

    def list_turns(self, limit: int = 50, status: str | None = None, offset: int = 0) -> list[dict]:
        """Newest turns first. `status` filters by turn status (answered, refused, …), by review state
        (pending, approved, edited, rejected) or "flagged"."""
        where, args = "", []
        if status in _REVIEW_STATES:
            where, args = "WHERE r.state = ?", [status]
        elif status == "flagged":
            where = "WHERE t.flagged = 1"
        elif status:
            where, args = "WHERE t.status = ?", [status]
        rows = self._read(
            "SELECT t.*, r.state AS review_state, r.decided_at AS decided_at FROM turns t"
            f" LEFT JOIN reviews r ON r.turn_id = t.turn_id {where}"
            " ORDER BY t.created_at DESC, t.rowid DESC LIMIT ? OFFSET ?",
            (*args, int(limit), int(offset)),
        )
        return [self._turn_dict(r) for r in rows]

    def count(self, status: str | None = None) -> int:
        """Number of recorded turns (optionally with a turn status or review state, as in list_turns)."""
        args: tuple[Any, ...]
        if status in _REVIEW_STATES:
            sql, args = "SELECT COUNT(*) FROM reviews WHERE state = ?", (status,)
        elif status == "flagged":
            sql, args = "SELECT COUNT(*) FROM turns WHERE flagged = 1", ()
        elif status:
            sql, args = "SELECT COUNT(*) FROM turns WHERE status = ?", (status,)
        else:
            sql, args = "SELECT COUNT(*) FROM turns", ()
        return int(self._read(sql, args)[0][0])


def _rule_names(verdicts: list[Verdict]) -> set[str]:
    """Rule names of every non-allow verdict, including those a combined verdict carries in its details
    (`rules`) and input signals such as flag.prompt_injection (`signals`)."""
    names: set[str] = set()
    for v in verdicts:
        if v.rule and v.action != "allow":
            names.add(v.rule)
        for key in ("rules", "signals"):
            extra = v.details.get(key) if isinstance(v.details, dict) else None
            if isinstance(extra, list):
                names.update(x for x in extra if isinstance(x, str) and x)
    return names


def _decision_dict(row: Any) -> dict:
    d = dict(row)
    if isinstance(d.get("released"), str):
        d["released"] = json.loads(d["released"])
    return d


class SqliteAuditStore(AuditStore):
    """The audit store on a SQLite file (the embedded default); kept for callers that name the backend."""

    def __init__(self, path: Path, mask_pii: Callable[[str], str] | None = None, **options: Any) -> None:
        super().__init__(Path(path), mask_pii, **options)


__all__ = ["AuditStore", "SqliteAuditStore", "AuditError", "DuplicateTurn", "ReviewConflict", "SelfReview"]
