"""Exceptions → HTTP answers, in one table (most specific first).

The app's exception handlers, the routes (errors sent in-band on a started stream) and the Gradio screens
(messages) all classify through `classify_exception`. This module imports only the exception classes it
names — never the app, the routes or `ui/` — so nothing that uses it is imported back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assistant.errors import ConfigError, DomainError, GeneratorError, UserFacingError
from knowledge.database import DatabaseUnavailable
from knowledge.errors import KnowledgeError, StoreUnavailable, UnknownLaw, YijuError
from safety.audit import ReviewConflict, ReviewNotFound, SelfReview

# The `type` of `{"error": {"type", "code", "message"}}` for each status the service answers with.
ERROR_TYPES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
INTERNAL_MESSAGE = "internal error; the incident was logged on the server"


class AccessDenied(YijuError, PermissionError):
    """A missing, invalid or revoked key, or a key whose role may not do this (see `auth.authorize`).

    A PermissionError, so the screens can show it as it is; `status` is 401 (who are you?) or 403
    (not allowed); `reason` is missing | invalid | role (the auth_failures metric label).
    """

    def __init__(self, message: str, *, status: int = 401, reason: str = "invalid") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class ErrorRule:
    """One row of the table: exceptions of `kinds` answer `status` (None: the exception's own `status`)."""

    kinds: tuple[type[Exception], ...]
    status: int | None
    message: Callable[[BaseException], str] = str


ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule((AccessDenied,), None),
    ErrorRule((StoreUnavailable,), 503, lambda e: f"knowledge store unavailable: {e}; retry shortly"),
    ErrorRule((DatabaseUnavailable,), 503, lambda e: f"database unavailable: {e}; retry shortly"),
    ErrorRule((SelfReview,), 403),
    ErrorRule((ReviewConflict,), 409, lambda e: f"review conflict: {e}"),
    ErrorRule((ReviewNotFound,), 404, lambda e: f"not in the review queue: {e}"),
    ErrorRule((UnknownLaw,), 404),
    ErrorRule((GeneratorError,), 503, lambda e: f"answer generator unavailable: {e}"),
    ErrorRule((DomainError, ConfigError), 400),
    ErrorRule((KnowledgeError, UserFacingError), 400),
)


def error_type(status: int) -> str:
    """The error `type` for an HTTP status ("error" for one the service does not use)."""
    return ERROR_TYPES.get(status, "error")


def error_body(status: int, message: str) -> dict[str, dict[str, object]]:
    """The documented error shape: `{"error": {"type", "code", "message"}}`."""
    return {"error": {"type": error_type(status), "code": status, "message": message}}


def classify_exception(exc: BaseException) -> tuple[int, str, str]:
    """(HTTP status, error type, client-safe message) for `exc`; never a traceback or an internal detail.

    The first row of ERROR_TABLE that matches wins; anything not in the table is a 500 whose message
    says nothing about the exception (it is logged on the server instead).
    """
    for rule in ERROR_TABLE:
        if isinstance(exc, rule.kinds):
            status = rule.status if rule.status is not None else int(getattr(exc, "status", 400))
            return status, error_type(status), rule.message(exc)
    return 500, error_type(500), INTERNAL_MESSAGE


def expected_exceptions() -> tuple[type[Exception], ...]:
    """Every exception class the table answers for (the app registers a handler for each)."""
    return tuple(kind for rule in ERROR_TABLE for kind in rule.kinds)
