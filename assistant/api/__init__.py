"""The HTTP service behind `yiju serve`: FastAPI under /v1 with the Gradio screens mounted at `/`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from assistant.config import YijuConfig


def create_app(home: Path, config: YijuConfig | None = None, *, with_ui: bool = True) -> FastAPI:
    """Build the app for data directory `home` (see assistant.api.app.create_app)."""
    from assistant.api.app import create_app as _create_app

    return _create_app(home, config, with_ui=with_ui)


__all__ = ["create_app"]
