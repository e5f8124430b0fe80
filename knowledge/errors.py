"""Knowledge-base exceptions. They turn into user text only at the CLI/API/UI edge."""

from __future__ import annotations


class YijuError(Exception):
    """The root of every error yiju raises on purpose, in every package (knowledge, safety, adapters,
    assistant, ui). It lives here, at the bottom of the import chain, so each package can derive from it;
    `except YijuError` catches what yiju itself reports, never a bug."""


class KnowledgeError(YijuError):
    """Base class for knowledge-base errors reported to users as plain text."""


class LoadError(KnowledgeError):
    """A source file could not be parsed; names the file and (when known) the line."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class StoreUnavailable(KnowledgeError):
    """The vector store cannot be reached (e.g. the chroma_http server is down). The API maps it to 503."""


class EmbedderError(KnowledgeError):
    """The embedding model is missing, broken or does not match the stored vectors."""


class UnknownLaw(KnowledgeError):
    """A law or guideline named by a curator is not in the knowledge base. The API maps it to 404."""


class ProtectedText(LoadError):
    """An upload would change text imported from an official corpus; the file is refused (named with the line
    of the first article it would change)."""
