"""Small helpers shared by CLI modules: the data directory and user-facing errors."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from assistant.home import HomeError, resolve_home

# soft_wrap: statute text is printed verbatim (no newlines inserted mid-sentence) and copies cleanly;
# when piped, tables get room for Chinese questions instead of rich's 80-column default.
_PIPED_WIDTH = None if sys.stdout.isatty() else 200
console = Console(soft_wrap=True, width=_PIPED_WIDTH)
err_console = Console(stderr=True)


def home() -> Path:
    """The data directory for this invocation (`--home`, $YIJU_HOME or the default)."""
    try:
        return resolve_home()
    except HomeError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits


def fail(message: str, code: int = 1) -> None:
    """Print a clear error (no traceback) and exit with `code`."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
