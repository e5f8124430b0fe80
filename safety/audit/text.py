"""How audit text is written: storable on either backend, JSON in one canonical form, CSV cells that stay text."""

from __future__ import annotations

import json
from typing import Any


def json_text(value: Any) -> str:
    """Canonical JSON for the audit's JSON columns (UTF-8 kept, keys sorted)."""
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def storable_text(text: str, *, nul: bool = True) -> str:
    """`text` as the database can store it: lone UTF-16 surrogates ("\\ud800", which UTF-8 cannot encode)
    are written as backslash escapes instead of failing the write, and so is NUL where the database cannot
    hold it (`nul=False`: PostgreSQL text), so malformed input is still audited."""
    if not nul and "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(…), +cmd|…, @SUM…);
# tab and carriage return also start one in some (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV export cell that a spreadsheet shows as text: text starting like a formula gets a leading
    apostrophe (OWASP's advice). Numbers and empty values pass unchanged; JSONL exports keep the raw text."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


__all__ = ["csv_cell", "json_text", "storable_text"]
