"""The training config: one YAML file, validated by pydantic, every error reported at once.

Keys follow lora-scripts (`train_data_dir`, `metadata_path`, `base_model`, `lora_rank`, …) so existing
configs work unchanged; yiju adds validation split, early stopping, scheduler, DoRA/rsLoRA, refusal
mixing, domain and the 【分类】/【要点】/【依据】 answer template.

Relative input paths (`train_data_dir`, `metadata_path`, `base_model`) are looked up next to the config
file first, then in the current directory; output paths are relative to the current directory. The
placeholder `{home}` in any path means the yiju data directory (so `{home}/adapters/x` lands in the
adapter registry); `{output_dir}` in `logging_dir` means the resolved output folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adapters.errors import TrainConfigError
from knowledge.yamlfile import YamlFileError, load_yaml

DEFAULT_HOME = Path("~/.local/share/yiju")


def default_home() -> Path:
    """The yiju data directory as the CLI resolves it ($YIJU_HOME, else ~/.local/share/yiju)."""
    return Path(os.environ.get("YIJU_HOME") or DEFAULT_HOME).expanduser().resolve()


class TrainConfig(BaseModel):
    """Everything one LoRA training run needs. Unknown keys are errors (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # --- data -------------------------------------------------------------------------------
    train_data_dir: Path | None = Field(
        default=None, description="Folder (or single file) of JSONL / chat JSONL / dialogue .txt / CSV data"
    )
    metadata_path: Path | None = Field(
        default=None, description="A CSV (question,answer) or JSONL file listing the samples"
    )
    data_format: Literal["auto", "jsonl", "chat", "csv", "dialogue"] = Field(
        default="auto", description="Force a data format; auto detects per file"
    )
    validation_split: float = Field(default=0.1, ge=0.0, lt=0.5, description="Share of samples held out")
    template: Literal["none", "check", "rewrite"] = Field(
        default="check",
        description="【分类】/【要点】/【依据】 handling: none, check (report samples missing a section), "
        "rewrite (also reformat them into the structure)",
    )
    domain: str = Field(default="legal", min_length=1, description="legal, medical or another domain name")
    refusal_ratio: float = Field(
        default=0.1, ge=0.0, le=0.5, description="Refusal samples added, as a share of the training samples"
    )
    refusal_policy: str | None = Field(
        default=None, description="Safety policy name or YAML path for refusal samples (default: the domain)"
    )
    system_prompt: str | None = Field(default=None, description="Optional system message for every sample")

    # --- model ------------------------------------------------------------------------------
    base_model: str = Field(description="A local Hugging Face model folder or a .gguf file")
    task_type: Literal["text-generation"] = "text-generation"
    name: str | None = Field(default=None, description="Adapter name (default: the output folder's name)")

    # --- LoRA -------------------------------------------------------------------------------
    lora_rank: int = Field(default=8, ge=1, le=1024)
    lora_alpha: float = Field(default=16, gt=0)
    lora_dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: str | list[str] = Field(
        default="auto", description="'auto', a comma-separated string or a list of module names"
    )
    use_dora: bool = False
    use_rslora: bool = False

    # --- optimisation -----------------------------------------------------------------------
    batch_size: int = Field(default=4, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    epochs: int = Field(default=3, ge=1)
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many optimiser steps")
    learning_rate: float = Field(default=2e-4, gt=0, lt=1)
    lr_scheduler_type: Literal[
        "linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial"
    ] = "cosine"
    warmup_ratio: float = Field(default=0.03, ge=0.0, lt=1.0)
    warmup_steps: int = Field(default=0, ge=0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    max_grad_norm: float = Field(default=1.0, gt=0)
    max_seq_length: int = Field(default=1024, ge=16)
    packing: bool = Field(default=True, description="Pack each batch into one row (no padding)")
    fp16: bool = False
    bf16: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    seed: int = 42
    early_stopping_patience: int | None = Field(
        default=3, ge=1, description="Stop after this many epochs without a better validation loss"
    )

    # --- output -----------------------------------------------------------------------------
    output_dir: Path = Field(description="Where the adapter, checkpoints, summary and plots go")
    save_steps: int = Field(default=100, ge=1)
    save_total_limit: int | None = Field(default=3, ge=1)
    logging_dir: Path | None = Field(default=None, description="TensorBoard logs (default: output_dir/logs)")
    logging_steps: int = Field(default=10, ge=1)
    resume_from_checkpoint: bool | str | None = Field(
        default=None, description="true/'latest' resumes from the newest checkpoint in output_dir, or a path"
    )

    @field_validator("target_modules")
    @classmethod
    def _split_modules(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, str):
            if v.strip().lower() == "auto":
                return "auto"
            parts = [p.strip() for p in v.split(",") if p.strip()]
            if not parts:
                raise ValueError("give 'auto' or at least one module name")
            return parts
        if not v:
            raise ValueError("give 'auto' or at least one module name")
        return v

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.train_data_dir is None and self.metadata_path is None:
            raise ValueError("set train_data_dir or metadata_path (where the training data is)")
        if self.fp16 and self.bf16:
            raise ValueError("fp16 and bf16 are both true; choose one")
        return self

    @property
    def adapter_name(self) -> str:
        """The adapter's registry name."""
        return self.name or Path(self.output_dir).name

    @property
    def tensorboard_dir(self) -> Path:
        """Where TensorBoard event files are written."""
        return Path(self.logging_dir) if self.logging_dir else Path(self.output_dir) / "logs"


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: {exc.error_count()} invalid setting(s):"]
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(config)"
        if err["type"] == "extra_forbidden":
            lines.append(
                f"  - {field}: unknown key (value {err['input']!r}); known keys: see adapters/config.py"
            )
        elif err["type"] == "missing":
            lines.append(f"  - {field}: required but missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  - {field}: {msg} (got {err['input']!r})")
    return "\n".join(lines)


def _resolve_paths(raw: dict[str, Any], config_dir: Path | None, home: Path) -> dict[str, Any]:
    """Expand {home}/~ and resolve relative inputs next to the config file first, then the cwd."""
    out = dict(raw)
    for key in ("train_data_dir", "metadata_path", "base_model", "output_dir", "logging_dir"):
        val = out.get(key)
        if not isinstance(val, str | Path):
            continue
        text = str(val).replace("{home}", str(home))
        if key == "logging_dir" and "{output_dir}" in text:
            text = text.replace("{output_dir}", str(out.get("output_dir", "")))
        path = Path(os.path.expanduser(text))
        if not path.is_absolute():
            is_input = key in ("train_data_dir", "metadata_path", "base_model")
            if is_input and config_dir is not None and (config_dir / path).exists():
                path = config_dir / path
            elif is_input and not Path.cwd().joinpath(path).exists() and key == "base_model":
                out[key] = text  # keep as given (e.g. a hub id) so the loader can explain what is accepted
                continue
            else:
                path = Path.cwd() / path
        out[key] = str(path) if key == "base_model" else path
    if isinstance(out.get("resume_from_checkpoint"), str):
        rc = out["resume_from_checkpoint"].strip()
        if rc.lower() in ("true", "latest", "yes"):
            out["resume_from_checkpoint"] = True
        elif rc.lower() in ("false", "no", "none", ""):
            out["resume_from_checkpoint"] = None
    return out


def load_config(
    path: Path | str | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    home: Path | None = None,
) -> TrainConfig:
    """Read a YAML config (optional), apply `overrides`, validate, and resolve paths.

    Raises TrainConfigError listing every invalid field with its value.
    """
    raw: dict[str, Any] = {}
    source = "config"
    config_dir: Path | None = None
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise TrainConfigError(f"config file not found: {path}")
        try:
            loaded = load_yaml(path)
        except YamlFileError as exc:  # names the file and the line (syntax, duplicate key, unreadable)
            raise TrainConfigError(str(exc)) from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise TrainConfigError(
                f"{path}: expected a mapping of keys to values, got {type(loaded).__name__}"
            )
        raw = loaded
        config_dir = path.resolve().parent
    raw.update(overrides or {})
    raw = _resolve_paths(raw, config_dir, home or default_home())
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        raise TrainConfigError(_format_errors(exc, source)) from None


def parse_override(item: str) -> tuple[str, Any]:
    """Parse a `key=value` command-line override; the value is read as YAML (so 3 → int, true → bool)."""
    if "=" not in item:
        raise TrainConfigError(f"override {item!r} must look like key=value")
    key, value = item.split("=", 1)
    if not value.strip():
        return key.strip(), None
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        # Not a YAML scalar (e.g. "{home}/adapters/x" looks like a broken mapping): take it as a string.
        return key.strip(), value
