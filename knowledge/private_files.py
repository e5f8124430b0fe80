"""Owner-only files for what yiju stores: the SQLite databases (audit, keys, knowledge manifest) and exports.

The audit trail and exports hold questions (PII masked, but still people's words), the key store holds key
hashes: none of it is for other accounts on the machine. Files are created 0600 whatever the umask, and
a database's -wal/-shm/-journal files follow (SQLite gives them the database file's permissions). Lives
at the bottom of the package chain so the knowledge, safety and assistant stores can all use it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

PRIVATE_MODE = 0o600
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_database(path: Path) -> Path:
    """Make sure the SQLite database at `path` (created empty if missing) and its side files are 0600.

    Call before the first `sqlite3.connect`: SQLite then creates the -wal/-shm files with the same mode.
    A database made before this rule is tightened too.
    """
    path = Path(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)
    for suffix in _SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, PRIVATE_MODE)
    return path


def open_private(path: Path, *, encoding: str = "utf-8", newline: str | None = None) -> IO[str]:
    """Open `path` for writing text (truncated), created 0600 whatever the umask."""
    fd = os.open(Path(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        return os.fdopen(fd, "w", encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        raise
