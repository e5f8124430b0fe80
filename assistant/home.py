"""Where yiju keeps its state: one data directory for everything."""

from __future__ import annotations

import os
from pathlib import Path

from assistant.errors import UserFacingError

ENV_VAR = "YIJU_HOME"

# Nothing in yiju may reach a model hub or send telemetry: set for every CLI run, test and bench.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply_offline_env() -> None:
    """Set OFFLINE_ENV in this process without overriding what the user set explicitly."""
    for var, value in OFFLINE_ENV.items():
        os.environ.setdefault(var, value)


DEFAULT_HOME = Path("~/.local/share/yiju")


def resolve_home(explicit: str | os.PathLike | None = None) -> Path:
    """Return the data directory: `--home DIR`, else $YIJU_HOME, else ~/.local/share/yiju.

    The directory is created if missing. Layout (owned by the package named):
      chroma/            knowledge: embedded Chroma store
      kb.sqlite          knowledge: import manifest (files, hashes, versions)
      embedder/          knowledge: the trained/default embedding model
      audit.sqlite       safety: audit trail and review queue
      keys.sqlite        assistant: API keys (hashed)
      adapters/          adapters: trained adapters registry
      yiju.yaml          assistant: optional config (else built-in defaults)
    """
    raw = explicit or os.environ.get(ENV_VAR) or DEFAULT_HOME
    home = Path(raw).expanduser().resolve()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent is a file, no permission, read-only or full disk
        raise HomeError(f"data directory {home} cannot be created: {exc.strerror or exc}") from exc
    if not os.access(home, os.W_OK | os.X_OK):
        raise HomeError(f"data directory {home} is not writable")
    return home


class HomeError(UserFacingError):
    """The data directory cannot be created or written."""
