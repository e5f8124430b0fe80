"""CLI commands (placeholder: filled in by the owning work stream)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Attach this module's commands to the main app / the `yiju eval` group."""
