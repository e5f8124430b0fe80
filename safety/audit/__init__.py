"""The audit package: every turn, the review queue and its decisions, askers' feedback, exports.

- `store.py`: `AuditStore` (record, resolve, reads) on the one database helper (knowledge.database) —
  a SQLite file by default, or the PostgreSQL database several replicas share;
- `migrations.py`: the named migrations (per dialect where they differ; append-only triggers in both);
- `review.py`: the reviewers' queue, rule filter and decision log; `feedback.py`: 👍/👎;
- `export.py`: JSONL/CSV exports; `text.py`: storable text, canonical JSON, CSV cells;
- `errors.py`: AuditError and its children.
`from safety.audit import AuditStore, ReviewConflict, …` is the public way in.
"""

from __future__ import annotations

from safety.audit.errors import AuditError, DuplicateTurn, ReviewConflict, ReviewNotFound, SelfReview
from safety.audit.export import EXPORT_FIELDS
from safety.audit.feedback import FEEDBACK_COMMENT_MAX, Rating
from safety.audit.migrations import MIGRATIONS
from safety.audit.review import REVIEW_STATES
from safety.audit.store import AuditStore, SqliteAuditStore
from safety.audit.text import csv_cell, storable_text

__all__ = [
    "AuditError",
    "AuditStore",
    "DuplicateTurn",
    "EXPORT_FIELDS",
    "FEEDBACK_COMMENT_MAX",
    "MIGRATIONS",
    "REVIEW_STATES",
    "Rating",
    "ReviewConflict",
    "ReviewNotFound",
    "SelfReview",
    "SqliteAuditStore",
    "csv_cell",
    "storable_text",
]
