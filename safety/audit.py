"""The audit trail: every turn (answered, refused, flagged, failed) in SQLite, plus the review queue.

Design choices:
- WAL journal + one connection per thread (a thread-local), writes in `BEGIN IMMEDIATE` transactions with a
  busy timeout, so the HTTP service's worker threads and a CLI reviewer in another process can share the file.
- One commit per record with synchronous=FULL: once `record()` returns, the row survives `kill -9` of the
  server (and a power cut). NORMAL would already survive a process kill under WAL; FULL also covers the OS.
- Schema changes are append-only named migrations recorded in `schema_migrations`; each runs once.
- History is never overwritten: `turns` and `decisions` reject UPDATE/DELETE through triggers; an edit is a
  decision row holding the edited text beside the original answer. Only the review state moves, exactly
  once, from 'pending' via a conditional UPDATE — the loser of a race gets ReviewConflict.
- PII: when a mask function is given, question / answers / verdicts are masked before they touch the disk,
  so review copies and exports can never leak what was masked.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from knowledge.private_files import open_private, private_database
from safety.feedback import FeedbackMixin
from safety.review import ReviewMixin
from safety.types import Decision, ReviewItem, Turn, Verdict


class AuditError(Exception):
    """Base class for audit-store errors."""


class ReviewConflict(AuditError):
    """The review item was already decided (another reviewer won)."""


class ReviewNotFound(AuditError, KeyError):  # also raised for feedback on an unknown turn
    """No turn / no review item with that id."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else "not found"


class SelfReview(AuditError):
    """A reviewer tried to decide on a turn that their own key asked (four eyes: someone else decides)."""


class DuplicateTurn(AuditError):
    """A turn with this id was already recorded (turns are written once)."""


MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_turns",
        """
        CREATE TABLE turns (
            turn_id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            domain TEXT NOT NULL,
            question TEXT NOT NULL,
            status TEXT NOT NULL,
            retrieved TEXT NOT NULL DEFAULT '[]',
            generator_kind TEXT NOT NULL DEFAULT '',
            generator_model TEXT NOT NULL DEFAULT '',
            adapter_name TEXT NOT NULL DEFAULT '',
            adapter_version TEXT NOT NULL DEFAULT '',
            kb_version TEXT NOT NULL DEFAULT '',
            raw_answer TEXT NOT NULL DEFAULT '',
            final_answer TEXT NOT NULL DEFAULT '',
            verdicts TEXT NOT NULL DEFAULT '[]',
            rules TEXT NOT NULL DEFAULT '[]',
            flagged INTEGER NOT NULL DEFAULT 0,
            latency_ms REAL NOT NULL DEFAULT 0,
            client_id TEXT,
            pii_masked INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX turns_created ON turns(created_at);
        CREATE INDEX turns_status ON turns(status);
        """,
    ),
    (
        "0002_review_queue",
        """
        CREATE TABLE reviews (
            turn_id TEXT PRIMARY KEY REFERENCES turns(turn_id),
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'approved', 'edited', 'rejected')),
            created_at TEXT NOT NULL,
            decided_at TEXT
        );
        CREATE INDEX reviews_state ON reviews(state, created_at);
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            turn_id TEXT NOT NULL UNIQUE REFERENCES reviews(turn_id),
            reviewer TEXT NOT NULL,
            decision TEXT NOT NULL CHECK (decision IN ('approve', 'edit', 'reject')),
            note TEXT NOT NULL DEFAULT '',
            edited_answer TEXT,
            decided_at TEXT NOT NULL
        );
        """,
    ),
    (
        "0003_append_only_triggers",
        """
        CREATE TRIGGER turns_no_update BEFORE UPDATE ON turns
        BEGIN SELECT RAISE(ABORT, 'audit turns are append-only'); END;
        CREATE TRIGGER turns_no_delete BEFORE DELETE ON turns
        BEGIN SELECT RAISE(ABORT, 'audit turns are append-only'); END;
        CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'review decisions are append-only'); END;
        CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
        BEGIN SELECT RAISE(ABORT, 'review decisions are append-only'); END;
        CREATE TRIGGER reviews_decide_once BEFORE UPDATE OF state ON reviews
        WHEN OLD.state <> 'pending'
        BEGIN SELECT RAISE(ABORT, 'review already decided'); END;
        """,
    ),
    (
        # Each turn knows its conversation and the standalone question retrieval saw (follow-ups).
        "0004_conversations",
        """
        ALTER TABLE turns ADD COLUMN conversation_id TEXT;
        ALTER TABLE turns ADD COLUMN standalone_question TEXT NOT NULL DEFAULT '';
        CREATE INDEX turns_conversation ON turns(conversation_id, created_at);
        """,
    ),
    (
        # 👍/👎 from askers, with an optional comment; append-only like the rest of the trail.
        "0005_feedback",
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            turn_id TEXT NOT NULL REFERENCES turns(turn_id),
            rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
            comment TEXT NOT NULL DEFAULT '',
            client_id TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX feedback_turn ON feedback(turn_id, id);
        CREATE INDEX feedback_rating ON feedback(rating, created_at);
        CREATE TRIGGER feedback_no_update BEFORE UPDATE ON feedback
        BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
        CREATE TRIGGER feedback_no_delete BEFORE DELETE ON feedback
        BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
        """,
    ),
    (
        # A decision carries what the asker is shown: a note for them, and the released answer as it went
        # through the output path (parsed, citations verified, disclaimer) — JSON, written once with the row.
        "0006_released_answers",
        """
        ALTER TABLE decisions ADD COLUMN asker_note TEXT NOT NULL DEFAULT '';
        ALTER TABLE decisions ADD COLUMN released TEXT;
        """,
    ),
]

_STATE_OF = {"approve": "approved", "edit": "edited", "reject": "rejected"}
_REVIEW_STATES = ("pending", "approved", "edited", "rejected")
_JSON_COLS = ("retrieved", "verdicts", "rules")
EXPORT_FIELDS = [
    "turn_id",
    "created_at",
    "domain",
    "question",
    "status",
    "flagged",
    "rules",
    "verdicts",
    "retrieved",
    "generator_kind",
    "generator_model",
    "adapter_name",
    "adapter_version",
    "kb_version",
    "raw_answer",
    "final_answer",
    "latency_ms",
    "client_id",
    "review_state",
    "reviewer",
    "decision",
    "note",
    "edited_answer",
    "decided_at",
    "conversation_id",
    "standalone_question",
    "asker_note",
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


class SqliteAuditStore(ReviewMixin, FeedbackMixin):
    """Append-only audit trail and review queue in one SQLite file (safe to share between threads)."""

    def __init__(
        self,
        path: Path,
        mask_pii: Callable[[str], str] | None = None,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.mask_pii = mask_pii
        self._synchronous = synchronous
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        # Serialises writers inside this process (SQLite would do it too, but a lock avoids busy-retry spins).
        self._write_lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            private_database(self.path)  # owner-only, WAL/SHM included (it holds people's questions)
        except OSError as e:
            raise AuditError(f"cannot create audit database {self.path}: {e}") from e
        self.migrate()

    # ------------------------------------------------------------------------------------------ plumbing

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
                )
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
            except sqlite3.Error as e:
                raise AuditError(f"cannot open audit database {self.path}: {e}") from e
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed on success, rolled back (nothing half-written) on error."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def migrate(self) -> list[str]:
        """Apply pending named migrations in order, each once; returns the names applied now."""
        applied_now: list[str] = []
        try:
            self._apply_migrations(applied_now)
        except sqlite3.Error as e:
            raise AuditError(f"cannot prepare audit database {self.path}: {e}") from e
        return applied_now

    def _apply_migrations(self, applied_now: list[str]) -> None:
        with self._write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                # executescript would COMMIT our transaction; run statements one by one instead.
                for stmt in _split_sql(sql):
                    conn.execute(stmt)
                conn.execute("INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)", (name, _now()))
                applied_now.append(name)

    def migrations(self) -> list[tuple[str, str]]:
        """(name, applied_at) of every applied migration, in order."""
        rows = (
            self._conn().execute("SELECT name, applied_at FROM schema_migrations ORDER BY rowid").fetchall()
        )
        return [(r[0], r[1]) for r in rows]

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._all_lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

    def __enter__(self) -> SqliteAuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _mask(self, text: str) -> str:
        return storable_text(self.mask_pii(text) if self.mask_pii and text else text)

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
            _json(turn.retrieved),
            turn.generator_kind,
            turn.generator_model,
            turn.adapter_name,
            turn.adapter_version,
            turn.kb_version,
            self._mask(turn.raw_answer),
            self._mask(turn.final_answer),
            self._mask(_json(verdicts)),
            _json(rules),
            int(flagged),
            float(turn.latency_ms),
            turn.client_id,
            int(self.mask_pii is not None),
            turn.conversation_id,
            self._mask(turn.standalone_question),
        )
        # Every text the client could have written (ids included) must be storable, or the turn is lost.
        row = tuple(storable_text(v) if isinstance(v, str) else v for v in row)
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO turns (turn_id, created_at, domain, question, status, retrieved, generator_kind,"
                    " generator_model, adapter_name, adapter_version, kb_version, raw_answer, final_answer,"
                    " verdicts, rules, flagged, latency_ms, client_id, pii_masked, conversation_id,"
                    " standalone_question)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                if flagged:
                    conn.execute(
                        "INSERT INTO reviews (turn_id, state, created_at) VALUES (?, 'pending', ?)",
                        (turn_id, created_at),
                    )
        except sqlite3.IntegrityError as e:
            if "turns.turn_id" in str(e) or "UNIQUE" in str(e):
                raise DuplicateTurn(f"turn {turn_id} is already recorded") from e
            raise AuditError(f"could not record turn {turn_id}: {e}") from e
        except sqlite3.Error as e:
            raise AuditError(f"could not record turn {turn_id} in {self.path}: {e}") from e
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
        now = _now()
        with self._write() as conn:
            if reviewer_client_id:
                asker = conn.execute("SELECT client_id FROM turns WHERE turn_id = ?", (turn_id,)).fetchone()
                if asker is not None and asker[0] == reviewer_client_id:
                    raise SelfReview(
                        f"turn {turn_id} was asked with your own key; another reviewer must decide"
                    )
            cur = conn.execute(
                "UPDATE reviews SET state = ?, decided_at = ? WHERE turn_id = ? AND state = 'pending'",
                (_STATE_OF[decision], now, turn_id),
            )
            if cur.rowcount != 1:
                row = conn.execute("SELECT state FROM reviews WHERE turn_id = ?", (turn_id,)).fetchone()
                if row is None:
                    raise ReviewNotFound(f"no review item for turn {turn_id}")
                raise ReviewConflict(f"turn {turn_id} was already decided ({row['state']})")
            conn.execute(
                "INSERT INTO decisions (turn_id, reviewer, decision, note, edited_answer, decided_at,"
                " asker_note, released) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    turn_id,
                    reviewer.strip(),
                    decision,
                    self._mask(note),
                    self._mask(edited_answer or "") or None,
                    now,
                    self._mask(asker_note or ""),
                    _json(self._mask_released(released)) if released is not None else None,
                ),
            )

    # ------------------------------------------------------------------------------------------ reading

    def conversation_turns(self, conversation_id: str, limit: int = 10) -> list[dict]:
        """The last `limit` turns of a conversation, oldest first (question, standalone question, domain…)."""
        rows = (
            self._conn()
            .execute(
                "SELECT turn_id, created_at, domain, question, standalone_question, status FROM turns"
                " WHERE conversation_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (conversation_id, int(limit)),
            )
            .fetchall()
        )
        return [dict(r) for r in reversed(rows)]

    def _turn_dict(self, row: sqlite3.Row) -> dict:
        d = dict(row)
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
        rows = self._conn().execute(
            "SELECT turn_id FROM turns WHERE turn_id LIKE ? ESCAPE '\\' ORDER BY rowid LIMIT ?",
            (escaped + "%", int(limit)),
        )
        return [r[0] for r in rows]

    def history(self, turn_id: str) -> list[dict]:
        """Review decisions for a turn, oldest first (`released`: the released answer as a dict, or None)."""
        rows = self._conn().execute(
            "SELECT reviewer, decision, note, edited_answer, decided_at, asker_note, released FROM decisions"
            " WHERE turn_id = ? ORDER BY id",
            (turn_id,),
        )
        return [_decision_dict(r) for r in rows]

    def get(self, turn_id: str) -> dict | None:
        """Everything stored about one turn (review state and decision history included), or None."""
        row = (
            self._conn()
            .execute(
                "SELECT t.*, r.state AS review_state, r.decided_at AS decided_at FROM turns t"
                " LEFT JOIN reviews r ON r.turn_id = t.turn_id WHERE t.turn_id = ?",
                (turn_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        d = self._turn_dict(row)
        d["history"] = self.history(turn_id)
        edits = [h["edited_answer"] for h in d["history"] if h["edited_answer"]]
        d["edited_answer"] = edits[-1] if edits else None
        last = d["history"][-1] if d["history"] else {}
        d["released"] = last.get("released")
        d["asker_note"] = last.get("asker_note") or ""
        return d

    def _review_item(self, row: sqlite3.Row) -> ReviewItem:
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
        rows = (
            self._conn()
            .execute(
                "SELECT t.*, r.state AS review_state FROM reviews r JOIN turns t ON t.turn_id = r.turn_id"
                " WHERE r.state = 'pending' ORDER BY r.created_at, t.rowid LIMIT ?",
                (int(limit),),
            )
            .fetchall()
        )
        return [self._review_item(r) for r in rows]

    def review_item(self, turn_id: str) -> ReviewItem | None:
        """The review item of a flagged turn (any state), or None."""
        row = (
            self._conn()
            .execute(
                "SELECT t.*, r.state AS review_state FROM reviews r JOIN turns t ON t.turn_id = r.turn_id"
                " WHERE r.turn_id = ?",
                (turn_id,),
            )
            .fetchone()
        )
        return self._review_item(row) if row else None

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
        rows = (
            self._conn()
            .execute(
                "SELECT t.*, r.state AS review_state, r.decided_at AS decided_at FROM turns t"
                f" LEFT JOIN reviews r ON r.turn_id = t.turn_id {where}"
                " ORDER BY t.created_at DESC, t.rowid DESC LIMIT ? OFFSET ?",
                (*args, int(limit), int(offset)),
            )
            .fetchall()
        )
        return [self._turn_dict(r) for r in rows]

    def count(self, status: str | None = None) -> int:
        """Number of recorded turns (optionally with a turn status or review state, as in list_turns)."""
        if status in _REVIEW_STATES:
            sql, args = "SELECT COUNT(*) FROM reviews WHERE state = ?", (status,)
        elif status == "flagged":
            sql, args = "SELECT COUNT(*) FROM turns WHERE flagged = 1", ()
        elif status:
            sql, args = "SELECT COUNT(*) FROM turns WHERE status = ?", (status,)
        else:
            sql, args = "SELECT COUNT(*) FROM turns", ()
        return int(self._conn().execute(sql, args).fetchone()[0])

    def iter_export_rows(self) -> Iterator[dict]:
        """All turns oldest first, joined with their review state and decision, PII-masked if configured."""
        rows = self._conn().execute(
            "SELECT t.*, r.state AS review_state, d.reviewer, d.decision, d.note, d.edited_answer, d.decided_at,"
            " d.asker_note"
            " FROM turns t LEFT JOIN reviews r ON r.turn_id = t.turn_id"
            " LEFT JOIN decisions d ON d.turn_id = t.turn_id ORDER BY t.created_at, t.rowid"
        )
        for row in rows:
            d = self._turn_dict(row)
            out = {k: d.get(k) for k in EXPORT_FIELDS}
            # Masked again on the way out: rows written before masking was configured are covered too.
            for k in (
                "question",
                "standalone_question",
                "raw_answer",
                "final_answer",
                "note",
                "edited_answer",
                "asker_note",
            ):
                if isinstance(out[k], str):
                    out[k] = self._mask(out[k])
            if self.mask_pii:
                out["verdicts"] = json.loads(self._mask(_json(out["verdicts"])))
            yield out

    def export(self, out: Path, fmt: Literal["jsonl", "csv"] = "jsonl") -> int:
        """Write every turn to `out` as JSONL or CSV (atomically: a temp file renamed into place).

        Returns the number of rows written.
        """
        if fmt not in ("jsonl", "csv"):
            raise ValueError(f"export format must be jsonl or csv, not {fmt!r}")
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        n = 0
        try:
            with open_private(tmp, newline="") as f:
                if fmt == "jsonl":
                    for row in self.iter_export_rows():
                        f.write(_json(row) + "\n")
                        n += 1
                else:
                    writer = csv.DictWriter(f, fieldnames=EXPORT_FIELDS)
                    writer.writeheader()
                    for row in self.iter_export_rows():
                        writer.writerow(
                            {
                                k: csv_cell(_json(v) if isinstance(v, list | dict) else v)
                                for k, v in row.items()
                            }
                        )
                        n += 1
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        return n


# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(…), +cmd|…, @SUM…);
# tab and carriage return also start one in some (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV export cell that a spreadsheet shows as text: text starting like a formula gets a leading
    apostrophe (OWASP's advice). Numbers and empty values pass unchanged; JSONL exports keep the raw text."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def storable_text(text: str) -> str:
    """`text` as SQLite can store it: lone UTF-16 surrogates ("\\ud800", which UTF-8 cannot encode) are
    written as backslash escapes instead of failing the write, so malformed input is still audited."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


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


def _decision_dict(row: sqlite3.Row) -> dict:
    d = dict(row)
    if isinstance(d.get("released"), str):
        d["released"] = json.loads(d["released"])
    return d


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (triggers contain ';' inside BEGIN … END)."""
    statements: list[str] = []
    buf = ""
    for part in script.split(";"):
        buf += part + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                statements.append(buf.strip())
            buf = ""
    if buf.strip(" \n;"):
        statements.append(buf.strip())
    return statements


AuditStore = SqliteAuditStore

__all__ = [
    "AuditError",
    "AuditStore",
    "DuplicateTurn",
    "MIGRATIONS",
    "ReviewConflict",
    "ReviewNotFound",
    "SelfReview",
    "SqliteAuditStore",
]
