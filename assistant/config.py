"""yiju's top-level configuration (`yiju.yaml`): one pydantic model composed of each package's section.

Loaded from `--config FILE`, else `<home>/yiju.yaml`, else built-in defaults. Every model forbids
unknown keys so a typo is an error naming the field, not a silently ignored setting.
Sections are owned by their package:
  knowledge  -> knowledge.config.KnowledgeConfig (store kind chroma_local|chroma_http, embedder, retrieval)
  generator  -> assistant.generators.config.GeneratorConfig (kind extractive|transformers_peft|openai_compat)
  server     -> ServerConfig below (limits for `yiju serve`)
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import ConfigError


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

    def knowledge_config(self):
        """The validated knowledge section."""
        return _knowledge_config_type().model_validate(self.knowledge)

    def generator_config(self):
        """The validated generator section (a discriminated union on `kind`)."""
        from pydantic import TypeAdapter

        return TypeAdapter(_generator_config_type()).validate_python(self.generator)


def load_config(path: Path | None, home: Path) -> YijuConfig:
    """Load and validate the config; errors name the file and every bad field at once."""
    candidate = path or (home / "yiju.yaml")
    if path is None and not candidate.exists():
        return YijuConfig()
    if not candidate.exists():
        raise ConfigError(f"{candidate}: config file not found")
    try:
        data = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{candidate}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{candidate}: top level must be a mapping")
    try:
        cfg = YijuConfig.model_validate(data)
        cfg.knowledge_config()
        cfg.generator_config()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()
        )
        raise ConfigError(f"{candidate}: {problems}") from exc
    return cfg
