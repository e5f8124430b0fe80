"""Small helpers shared by CLI modules: the data directory and user-facing errors."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from assistant.home import HomeError, resolve_home

console = Console()
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
