"""Exporting the audit trail: every turn with its review state and decision, as JSONL or CSV, PII-masked."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, cast

from knowledge.private_files import open_private
from safety.audit.text import csv_cell, json_text

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
_MASKED_FIELDS = (
    "question",
    "standalone_question",
    "raw_answer",
    "final_answer",
    "note",
    "edited_answer",
    "asker_note",
)
_PAGE = 500


class ExportMixin:
    """`iter_export_rows` / `export` for the audit store (uses its `_read`, `_turn_dict`, `_mask`)."""

    _read: Callable[..., list]
    _turn_dict: Callable[[Any], dict]
    _mask: Callable[[str], str]
    mask_pii: Callable[[str], str] | None

    def iter_export_rows(self) -> Iterator[dict]:
        """All turns oldest first, joined with their review state and decision, PII-masked if configured.

        Read in pages (keyset on created_at, rowid), so a large trail is never held in memory at once."""
        after: tuple[str, int] | None = None
        while True:
            where, args = "", cast(tuple[Any, ...], ())
            if after is not None:
                where, args = (
                    "WHERE t.created_at > ? OR (t.created_at = ? AND t.rowid > ?)",
                    (after[0], *after),
                )
            rows = self._read(
                "SELECT t.rowid AS seq_, t.*, r.state AS review_state, d.reviewer, d.decision, d.note,"
                " d.edited_answer, d.decided_at, d.asker_note"
                " FROM turns t LEFT JOIN reviews r ON r.turn_id = t.turn_id"
                f" LEFT JOIN decisions d ON d.turn_id = t.turn_id {where}"
                " ORDER BY t.created_at, t.rowid LIMIT ?",
                (*args, _PAGE),
            )
            for row in rows:
                d = self._turn_dict(row)
                out = {k: d.get(k) for k in EXPORT_FIELDS}
                # Masked again on the way out: rows written before masking was configured are covered too.
                for k in _MASKED_FIELDS:
                    value = out[k]
                    if isinstance(value, str):
                        out[k] = self._mask(value)
                if self.mask_pii:
                    out["verdicts"] = json.loads(self._mask(json_text(out["verdicts"])))
                yield out
            if len(rows) < _PAGE:
                return
            after = (rows[-1]["created_at"], int(rows[-1]["seq_"]))

    def export(self, out: Path, fmt: Literal["jsonl", "csv"] = "jsonl") -> int:
        """Write every turn to `out` as JSONL or CSV (atomically: a temp file renamed into place; 0600).

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
                        f.write(json_text(row) + "\n")
                        n += 1
                else:
                    writer = csv.DictWriter(f, fieldnames=EXPORT_FIELDS)
                    writer.writeheader()
                    for row in self.iter_export_rows():
                        writer.writerow(
                            {
                                k: csv_cell(json_text(v) if isinstance(v, list | dict) else v)
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


__all__ = ["EXPORT_FIELDS", "ExportMixin"]
