"""yiju's top-level configuration (`yiju.yaml`): one pydantic model composed of each package's section.

Loaded from `--config FILE`, else `<home>/yiju.yaml`, else built-in defaults. Every model forbids
unknown keys so a typo is an error naming the field, not a silently ignored setting.
Sections are owned by their package:
  knowledge  -> knowledge.config.KnowledgeConfig (store kind chroma_local|chroma_http, embedder, retrieval)
  generator  -> assistant.generators.config.GeneratorConfig (kind extractive|transformers_peft|openai_compat)
  server     -> ServerConfig below (limits for `yiju serve`)
  database   -> "" (SQLite files in the data directory) or postgresql://… shared by replicas (assistant.stores)
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.errors import ConfigError
from knowledge.yamlfile import YamlFileError, load_yaml


class ServerConfig(BaseModel):
    """Limits and defaults for `yiju serve`."""

    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = 7860
    max_request_bytes: int = Field(default=64_000, description="Largest accepted JSON body")
    max_upload_bytes: int = Field(default=20_000_000, description="Largest accepted knowledge upload")
    public_rate_per_minute: int = Field(
        default=30, description="Requests per minute per client without a key"
    )
    max_question_chars: int = 2000
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            "IP addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto "
            "are believed. Default none: the client is the socket peer, whatever headers it sends"
        ),
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        bad = []
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                bad.append(entry)
        if bad:
            raise ValueError(f"not an IP address or CIDR network: {', '.join(map(repr, bad))}")
        return [entry.strip() for entry in value]


def _knowledge_config_type():
    from knowledge.config import KnowledgeConfig

    return KnowledgeConfig


def _generator_config_type():
    from assistant.generators.config import GeneratorConfig

    return GeneratorConfig


class YijuConfig(BaseModel):
    """The whole configuration. Build with `load_config`."""

    model_config = ConfigDict(extra="forbid")
    knowledge: dict = Field(default_factory=dict, description="knowledge.config.KnowledgeConfig fields")
    generator: dict = Field(default_factory=lambda: {"kind": "extractive"})
    server: ServerConfig = Field(default_factory=ServerConfig)
    domains_dirs: list[Path] = Field(
        default_factory=list,
        description="Extra folders holding <name>/domain.yaml (relative paths: relative to the data directory)",
    )
    default_domain: str = Field(
        default="legal", description="Where `auto` sends questions with no domain words"
    )
    retrieve_k: int = 5
    database: str = Field(
        default="",
        description=(
            "Where the audit trail, review queue, API keys, rate limits and browser sessions live: empty = "
            "SQLite files in the data directory (the embedded default); postgresql://user@host:port/db = one "
            "PostgreSQL database shared by every `yiju serve` replica"
        ),
    )
    database_connections: int = Field(
        default=10, ge=1, le=200, description="Size of each process's PostgreSQL connection pool"
    )

    @field_validator("database")
    @classmethod
    def _database_is_postgres(cls, value: str) -> str:
        from knowledge.database import is_postgres_url

        value = value.strip()
        if value and not is_postgres_url(value):
            raise ValueError("must be empty (SQLite in the data directory) or a postgresql:// URL")
        return value

    def knowledge_config(self):
        """The validated knowledge section."""
        return _knowledge_config_type().model_validate(self.knowledge)

    def generator_config(self):
        """The validated generator section (a discriminated union on `kind`)."""
        from pydantic import TypeAdapter

        return TypeAdapter(_generator_config_type()).validate_python(self.generator)


def load_config(path: Path | None, home: Path) -> YijuConfig:
    """Load and validate the config; errors name the file and every bad field at once.

    The `knowledge` and `generator` sections are validated by their own models after the top level, so
    their errors are re-rooted here: each one carries its full dotted path from the file's root
    (`generator.kind`, `knowledge.embedder.path`), the bad value, and all sections are reported together.
    """
    candidate = path or (home / "yiju.yaml")
    if path is None and not candidate.exists():
        return YijuConfig()
    if not candidate.exists():
        raise ConfigError(f"{candidate}: config file not found")
    try:
        data = load_yaml(candidate) or {}
    except YamlFileError as exc:  # names the file and the line (syntax, duplicate key, unreadable)
        raise ConfigError(str(exc)) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{candidate}: top level must be a mapping")
    problems: list[str] = []
    cfg: YijuConfig | None = None
    try:
        cfg = YijuConfig.model_validate(data)
    except ValidationError as exc:
        problems += _describe(exc, data, ())
    # Sub-sections are checked even when the top level failed, so one run reports every mistake.
    for section, validate in (("knowledge", _validate_knowledge), ("generator", _validate_generator)):
        raw = data.get(section)
        if raw is None:
            continue
        if not isinstance(raw, dict):
            if cfg is not None:  # otherwise the top-level check already named this section
                problems.append(f"{section}: must be a mapping (got {raw!r})")
            continue
        try:
            validate(raw)
        except ValidationError as exc:
            problems += _describe(exc, raw, (section,))
    if problems:
        raise ConfigError(f"{candidate}: {len(problems)} problem(s): " + "; ".join(problems))
    assert cfg is not None
    return cfg


def _validate_knowledge(raw: dict) -> object:
    return _knowledge_config_type().model_validate(raw)


def _validate_generator(raw: dict) -> object:
    from pydantic import TypeAdapter

    return TypeAdapter(_generator_config_type()).validate_python(raw)


# Discriminator fields of the tagged unions in the config sections (generator.kind, knowledge.store.kind…).
_TAG_KEYS = ("kind",)


def _field_path(loc: tuple, data: object, prefix: tuple[str, ...]) -> tuple[list[str], object]:
    """The dotted path of an error in the user's file, and the value found there.

    Pydantic puts the chosen union tag into `loc` (`('extractive', 'modle')` for `generator.modle` when
    kind is extractive); such an element names no key of the user's mapping, so it is dropped.
    """
    parts = list(prefix)
    cur: object = data
    for item in loc:
        if isinstance(cur, dict):
            if item in cur:
                parts.append(str(item))
                cur = cur[item]
                continue
            if any(cur.get(k) == item for k in _TAG_KEYS):
                continue  # the union tag pydantic inserted, not a key the user wrote
            parts.append(str(item))
            cur = None
        elif isinstance(cur, list) and isinstance(item, int) and 0 <= item < len(cur):
            parts.append(str(item))
            cur = cur[item]
        else:
            parts.append(str(item))
            cur = None
    return parts, cur


def _describe(exc: ValidationError, data: object, prefix: tuple[str, ...]) -> list[str]:
    """One line per error: `full.dotted.path: message (got value)`."""
    out: list[str] = []
    for e in exc.errors():
        parts, value = _field_path(tuple(e["loc"]), data, prefix)
        ctx = e.get("ctx") or {}
        if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # The error sits on the union itself; the field at fault is its discriminator.
            key = str(ctx.get("discriminator", "kind")).strip("'\"")
            parts.append(key)
            value = value.get(key) if isinstance(value, dict) else ctx.get("tag")
        elif e["type"] == "missing":
            value = None
        else:
            value = e.get("input", value)
        where = ".".join(parts) or "(top level)"
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        got = " (missing)" if e["type"] in ("missing", "union_tag_not_found") else f" (got {shown})"
        out.append(f"{where}: {e['msg']}{got}")
    return out
