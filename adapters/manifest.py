"""The adapter manifest (`yiju_manifest.json`) written next to every trained adapter.

The registry lists adapters from it and the audit trail records its name and version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MANIFEST_NAME = "yiju_manifest.json"
TRAINER_VERSION = "yiju-adapters 0.1.0"


class AdapterManifest(BaseModel):
    """Who an adapter is: its name, domain, base model, data and training metrics."""

    model_config = ConfigDict(extra="forbid")

    name: str
    domain: str
    base_model: str
    base_model_hash: str
    data_hash: str
    version: str = Field(description="v1, v2, … incremented each time the same output folder is retrained")
    created_at: str
    metrics: dict[str, Any] = Field(default_factory=dict)
    path: str = Field(default="", description="The adapter folder (filled in when read from disk)")
    config: dict[str, Any] = Field(default_factory=dict)
    samples: int = 0
    refusal_samples: int = 0
    trainer: str = TRAINER_VERSION
    format: str = Field(
        default="peft-lora", description="peft-lora: adapter_model.safetensors + adapter_config.json"
    )


def read_manifest(adapter_dir: Path) -> AdapterManifest:
    """Load `adapter_dir/yiju_manifest.json`, setting `path` to where it was found."""
    adapter_dir = Path(adapter_dir)
    data = json.loads((adapter_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    data["path"] = str(adapter_dir.resolve())
    return AdapterManifest.model_validate(data)


def write_manifest(manifest: AdapterManifest, adapter_dir: Path) -> Path:
    """Write the manifest as UTF-8 JSON (Chinese kept readable)."""
    path = Path(adapter_dir) / MANIFEST_NAME
    path.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    return path


def next_version(existing: Path) -> str:
    """v1 for a new folder, else one more than the manifest already there."""
    try:
        old = json.loads(Path(existing).read_text(encoding="utf-8")).get("version", "v0")
        return f"v{int(str(old).lstrip('v')) + 1}"
    except (OSError, ValueError, json.JSONDecodeError):
        return "v1"
