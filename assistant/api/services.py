"""The long-lived objects one `yiju serve` process shares between the HTTP API and the Gradio screens."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.api.keys import KeyStore
from assistant.api.limits import RateLimiter
from assistant.api.metrics import Metrics
from assistant.api.shared_state import DatabaseRateLimiter, DatabaseSessions
from assistant.api.ui_guard import SESSION_TTL_S, UiSessions
from assistant.config import YijuConfig
from assistant.stores import KEYS_FILE, open_store_database, shared

if TYPE_CHECKING:  # pragma: no cover - typing only
    from assistant.pipeline import Pipeline

log = logging.getLogger("yiju.serve")

# Display labels (the UI's domain switch) → domain names the pipeline knows.
DOMAIN_ALIASES: dict[str, str] = {"自动": "auto", "医疗": "medical", "法律": "legal", "": "auto"}


class Services:
    """Keys, limits, metrics and the (lazily built, retried) pipeline for one server process."""

    def __init__(self, home: Path, config: YijuConfig) -> None:
        self.home = Path(home)
        self.config = config
        self.database = open_store_database(self.home, config, KEYS_FILE)
        self.keys = KeyStore(self.database)
        self.metrics = Metrics()
        self.public_limiter: RateLimiter | DatabaseRateLimiter
        self.ui_sessions: UiSessions | DatabaseSessions
        if shared(config):
            # Several replicas share one PostgreSQL database: limits and sessions must hold across them.
            self.public_limiter = DatabaseRateLimiter(self.database, config.server.public_rate_per_minute)
            self.ui_sessions = DatabaseSessions(self.database, SESSION_TTL_S)
        else:
            self.public_limiter = RateLimiter(config.server.public_rate_per_minute)
            self.ui_sessions = UiSessions()
        self.import_lock = threading.Lock()
        self._pipeline: Pipeline | None = None
        self._lock = threading.Lock()
        self.last_error: str = ""

    def pipeline(self) -> Pipeline:
        """The pipeline, built on first use; a failed build (e.g. Chroma server down) is retried next call."""
        if self._pipeline is not None:
            return self._pipeline
        with self._lock:
            if self._pipeline is None:
                from assistant.pipeline import Pipeline

                try:
                    self._pipeline = Pipeline.from_home(self.home, self.config)
                    self.last_error = ""
                except Exception as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    raise
            return self._pipeline

    @property
    def ready(self) -> bool:
        """True once the pipeline has been built."""
        return self._pipeline is not None

    def kb(self) -> Any:
        """The knowledge base (through the pipeline, so there is one store handle per process)."""
        return self.pipeline().kb

    def audit(self) -> Any:
        """The audit store and review queue."""
        return self.pipeline().audit

    def domains(self) -> list[str]:
        """Domains the pipeline serves (without "auto")."""
        return list(self.pipeline().domains)

    def resolve_domain(self, value: str) -> str:
        """Map a UI label or name to a domain name; raises ValueError naming the valid choices."""
        name = DOMAIN_ALIASES.get(value.strip(), value.strip())
        valid = self.domains()
        if name != "auto" and name not in valid:
            raise ValueError(f"unknown domain {value!r}; choose one of: auto, {', '.join(valid)}")
        return name

    def adapters(self) -> list[Any]:
        """Registered adapters (empty when the adapters package is not installed yet)."""
        try:
            from adapters.registry import list_adapters
        except ImportError:
            return []
        return list(list_adapters(self.home))
