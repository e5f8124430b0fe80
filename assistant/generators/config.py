"""The `generator:` section of yiju.yaml: a pydantic discriminated union on `kind`.

```yaml
generator:
  kind: openai_compat            # extractive (default) | transformers_peft | openai_compat
  base_url: http://127.0.0.1:8000/v1
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fallback_to_extractive: bool = Field(
        default=True,
        description="On backend failure or output that stays malformed after one repair, answer extractively "
        "(flagged) instead of returning an error",
    )


class ExtractiveConfig(_Base):
    """The embedded default: no LLM, picks the most relevant sentences of the retrieved articles."""

    kind: Literal["extractive"] = "extractive"
    max_points: int = Field(default=3, ge=1, le=10, description="Key points (sentences) per answer")
    max_sentence_chars: int = Field(default=160, ge=20, description="Longer sentences are cut with …")


class TransformersPeftConfig(_Base):
    """A local Hugging Face causal LM directory plus one LoRA adapter per domain, loaded once."""

    kind: Literal["transformers_peft"] = "transformers_peft"
    model_dir: Path = Field(description="save_pretrained directory of the base model (no hub names: offline)")
    adapters: dict[str, Path] = Field(
        default_factory=dict,
        description="adapter name -> adapter directory; empty = <home>/adapters registry",
    )
    max_new_tokens: int = Field(default=384, ge=1, le=4096)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="0 = greedy (deterministic)")
    device: str = Field(default="cpu", description="torch device, e.g. cpu, cuda, cuda:0")
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"


class OpenAICompatConfig(_Base):
    """Any OpenAI-compatible chat server (vLLM --lora-modules, llama.cpp server, Ollama)."""

    kind: Literal["openai_compat"] = "openai_compat"
    base_url: str = Field(description="Server root including /v1, e.g. http://127.0.0.1:8000/v1")
    model: str = Field(default="default", description="Model used when a domain has no adapter")
    adapter_models: dict[str, str] = Field(
        default_factory=dict,
        description="adapter name -> served model name (default: the adapter name itself)",
    )
    use_adapters: bool = Field(default=True, description="Send the domain's adapter name as the model")
    api_key: str | None = Field(default=None, description="Bearer token; prefer api_key_env")
    api_key_env: str | None = Field(
        default="YIJU_OPENAI_API_KEY", description="Environment variable with the key"
    )
    timeout_s: float = Field(default=60.0, gt=0, description="Read timeout per request")
    connect_timeout_s: float = Field(default=3.0, gt=0)
    max_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    stream: bool = Field(
        default=True,
        description="Ignored; kept so older yiju.yaml files still load. Answers are released only after "
        "citation verification and the output check (Pipeline.ask_stream), never streamed from the backend",
    )


GeneratorConfig = Annotated[
    ExtractiveConfig | TransformersPeftConfig | OpenAICompatConfig, Field(discriminator="kind")
]
