"""The audit store's errors (one root, `AuditError`); the API maps them in assistant/api/errors.py."""

from __future__ import annotations

from knowledge.errors import YijuError


class AuditError(YijuError):
    """Base class for audit-store errors."""


class ReviewConflict(AuditError):
    """The review item was already decided (another reviewer won)."""


class ReviewNotFound(AuditError, KeyError):  # also raised for feedback on an unknown turn
    """No turn / no review item with that id."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else "not found"


class SelfReview(AuditError):
    """A reviewer tried to decide on a turn that their own key asked (four eyes: someone else decides)."""


class DuplicateTurn(AuditError):
    """A turn with this id was already recorded (turns are written once)."""


__all__ = ["AuditError", "DuplicateTurn", "ReviewConflict", "ReviewNotFound", "SelfReview"]
