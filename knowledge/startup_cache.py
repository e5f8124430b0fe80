"""Tables derived from library data, kept on disk so a short-lived CLI process does not rebuild them.

`yiju ask` is a fresh process per question: jieba's part-of-speech table (349k words, ~1 s to parse) and
pypinyin's phrase readings (~0.4 s to import) are each needed for a handful of look-ups. The derived
table is stored once with `marshal` in the temporary folder (as jieba does with its own dictionary cache)
under a key naming what it was derived from, and read back in milliseconds afterwards.
"""

from __future__ import annotations

import hashlib
import marshal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

T = TypeVar("T")


def cached_table(name: str, key: str, build: Callable[[], T]) -> T:
    """`build()`'s result, from the on-disk copy named `name` + a digest of `key` when one exists.

    The value must be marshal-able (dicts, sets, tuples of str and numbers). A missing, unreadable or
    corrupt copy is rebuilt; a failed write is ignored (the next process simply rebuilds)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"yiju-{name}-{digest}.marshal"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        pass
    value = build()
    try:
        from knowledge.sparse import atomic_write

        atomic_write(path, lambda f: marshal.dump(cast(Any, value), f))  # marshal-able, as documented
    except OSError:
        pass
    return value
