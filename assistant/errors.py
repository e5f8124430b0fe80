"""Domain exceptions. They become user text only at the edge (CLI, API, UI)."""


class YijuError(Exception):
    """Base class for errors yiju reports to users as plain text."""


class ConfigError(YijuError):
    """A configuration file or field is invalid."""


class GeneratorError(YijuError):
    """A generator backend failed (dead server, corrupt adapter, malformed output)."""


class DomainError(YijuError):
    """An unknown domain or a broken domain.yaml."""
