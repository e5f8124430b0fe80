"""The audit database's named migrations (table `schema_migrations`), one script per dialect where they differ.

Never edit a migration that has shipped; append a new one. History is never overwritten: `turns`,
`decisions` and `feedback` reject UPDATE and DELETE (PostgreSQL: TRUNCATE too) through triggers in the
database itself, and a review's state moves once, from 'pending'. On PostgreSQL `turns.rowid` is a real
identity column, so the ordering `created_at, rowid` reads the same in both dialects.
"""

from __future__ import annotations

from knowledge.database import Migration

MIGRATIONS_TABLE = "schema_migrations"

_TURNS_COLUMNS = """
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
            latency_ms {real} NOT NULL DEFAULT 0,
            client_id TEXT,
            pii_masked INTEGER NOT NULL DEFAULT 0"""

_INDEXES = """
        CREATE INDEX turns_created ON turns(created_at);
        CREATE INDEX turns_status ON turns(status);
"""

_REVIEWS = """
        CREATE TABLE reviews (
            turn_id TEXT PRIMARY KEY REFERENCES turns(turn_id),
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'approved', 'edited', 'rejected')),
            created_at TEXT NOT NULL,
            decided_at TEXT
        );
        CREATE INDEX reviews_state ON reviews(state, created_at);
        CREATE TABLE decisions (
            id {id_column},
            turn_id TEXT NOT NULL UNIQUE REFERENCES reviews(turn_id),
            reviewer TEXT NOT NULL,
            decision TEXT NOT NULL CHECK (decision IN ('approve', 'edit', 'reject')),
            note TEXT NOT NULL DEFAULT '',
            edited_answer TEXT,
            decided_at TEXT NOT NULL
        );
"""

_SQLITE_ID = "INTEGER PRIMARY KEY AUTOINCREMENT"
_PG_ID = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"


def _pg_append_only(table: str, message: str) -> str:
    """Triggers refusing UPDATE, DELETE and TRUNCATE of `table` with `message` (SQLSTATE 23000)."""
    return f"""
        CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION audit_refuse('{message}');
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse('{message}');
"""


_FEEDBACK = """
        CREATE TABLE feedback (
            id {id_column},
            turn_id TEXT NOT NULL REFERENCES turns(turn_id),
            rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
            comment TEXT NOT NULL DEFAULT '',
            client_id TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX feedback_turn ON feedback(turn_id, id);
        CREATE INDEX feedback_rating ON feedback(rating, created_at);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_turns",
        sqlite=f"CREATE TABLE turns ({_TURNS_COLUMNS.format(real='REAL')}\n        );{_INDEXES}",
        postgresql=(
            f"CREATE TABLE turns ({_TURNS_COLUMNS.format(real='DOUBLE PRECISION')},\n"
            "            rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE\n        );"
            f"{_INDEXES}"
        ),
    ),
    Migration(
        "0002_review_queue",
        sqlite=_REVIEWS.format(id_column=_SQLITE_ID),
        postgresql=_REVIEWS.format(id_column=_PG_ID),
    ),
    Migration(
        "0003_append_only_triggers",
        sqlite="""
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
        postgresql="""
        CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
        END $$;
        """
        + _pg_append_only("turns", "audit turns are append-only")
        + _pg_append_only("decisions", "review decisions are append-only")
        + """
        CREATE TRIGGER reviews_decide_once BEFORE UPDATE OF state ON reviews
        FOR EACH ROW WHEN (OLD.state <> 'pending') EXECUTE FUNCTION audit_refuse('review already decided');
        CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
        FOR EACH ROW EXECUTE FUNCTION audit_refuse('review items are append-only');
        CREATE TRIGGER reviews_no_truncate BEFORE TRUNCATE ON reviews
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse('review items are append-only');
        """,
    ),
    Migration(
        # Each turn knows its conversation and the standalone question retrieval saw (follow-ups).
        "0004_conversations",
        both="""
        ALTER TABLE turns ADD COLUMN conversation_id TEXT;
        ALTER TABLE turns ADD COLUMN standalone_question TEXT NOT NULL DEFAULT '';
        CREATE INDEX turns_conversation ON turns(conversation_id, created_at);
        """,
    ),
    Migration(
        # 👍/👎 from askers, with an optional comment; append-only like the rest of the trail.
        "0005_feedback",
        sqlite=_FEEDBACK.format(id_column=_SQLITE_ID)
        + """
        CREATE TRIGGER feedback_no_update BEFORE UPDATE ON feedback
        BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
        CREATE TRIGGER feedback_no_delete BEFORE DELETE ON feedback
        BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
        """,
        postgresql=_FEEDBACK.format(id_column=_PG_ID)
        + _pg_append_only("feedback", "feedback is append-only"),
    ),
    Migration(
        # A decision carries what the asker is shown: a note for them, and the released answer as it went
        # through the output path (parsed, citations verified, disclaimer) — JSON, written once with the row.
        "0006_released_answers",
        both="""
        ALTER TABLE decisions ADD COLUMN asker_note TEXT NOT NULL DEFAULT '';
        ALTER TABLE decisions ADD COLUMN released TEXT;
        """,
    ),
)

__all__ = ["MIGRATIONS", "MIGRATIONS_TABLE"]
