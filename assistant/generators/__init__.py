"""Generator backends, registered by `kind`. Built-ins go through the same registry an extension would.

`build_generator(config, home)` turns a validated `GeneratorConfig` into a `Generator`. Heavy backends
(torch, httpx) are imported only when their factory runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.generators.base import Generator, GenParams, Message

GeneratorFactory = Callable[[Any, Path | None], Generator]


def _extractive(config: Any, home: Path | None) -> Generator:
    from assistant.generators.extractive import ExtractiveGenerator

    return ExtractiveGenerator(config)


def _transformers_peft(config: Any, home: Path | None) -> Generator:
    from assistant.generators.transformers_peft import TransformersPeftGenerator

    return TransformersPeftGenerator(config, home=home)


def _openai_compat(config: Any, home: Path | None) -> Generator:
    from assistant.generators.openai_compat import OpenAICompatGenerator

    return OpenAICompatGenerator(config)


GENERATORS: dict[str, GeneratorFactory] = {
    "extractive": _extractive,
    "transformers_peft": _transformers_peft,
    "openai_compat": _openai_compat,
}


def register_generator(kind: str, factory: GeneratorFactory) -> None:
    """Add (or replace) a backend factory under `kind`."""
    GENERATORS[kind] = factory


def build_generator(config: Any, home: Path | None = None) -> Generator:
    """Instantiate the backend named by `config.kind`."""
    try:
        factory = GENERATORS[config.kind]
    except KeyError as exc:
        raise KeyError(f"unknown generator kind {config.kind!r}; known: {sorted(GENERATORS)}") from exc
    return factory(config, home)


__all__ = ["GENERATORS", "GenParams", "Generator", "Message", "build_generator", "register_generator"]
