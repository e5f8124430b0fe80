"""Domain exceptions. They become user text only at the edge (CLI, API, UI)."""

from knowledge.errors import YijuError

__all__ = ["ConfigError", "DomainError", "GeneratorError", "UserFacingError", "YijuError"]


class UserFacingError(YijuError):
    """Errors of the application layer whose message is written for users (the API answers 400)."""


class ConfigError(UserFacingError):
    """A configuration file or field is invalid."""


class GeneratorError(UserFacingError):
    """A generator backend failed (dead server, corrupt adapter, malformed output)."""


class DomainError(UserFacingError):
    """An unknown domain or a broken domain.yaml."""
