"""Base model loading, device/precision choice and LoRA target-module detection."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.errors import ModelLoadError

log = logging.getLogger("yiju.adapters")

# Attention projections LoRA targets by default, per `config.model_type`.
ARCH_TARGETS: dict[str, list[str]] = {
    "llama": ["q_proj", "v_proj"],
    "qwen2": ["q_proj", "v_proj"],
    "qwen3": ["q_proj", "v_proj"],
    "qwen2_moe": ["q_proj", "v_proj"],
    "mistral": ["q_proj", "v_proj"],
    "mixtral": ["q_proj", "v_proj"],
    "gemma": ["q_proj", "v_proj"],
    "gemma2": ["q_proj", "v_proj"],
    "internlm2": ["wqkv"],
    "chatglm": ["query_key_value"],
    "glm": ["q_proj", "v_proj"],
    "bloom": ["query_key_value"],
    "falcon": ["query_key_value"],
    "gpt_neox": ["query_key_value"],
    "gpt2": ["c_attn"],
    "qwen": ["c_attn"],
    "baichuan": ["W_pack"],
    "phi3": ["qkv_proj"],
}
# When the model type is unknown, the first of these whose names all exist wins.
FALLBACK_TARGETS: list[list[str]] = [
    ["q_proj", "v_proj"],
    ["query_key_value"],
    ["c_attn"],
    ["W_pack"],
    ["wqkv"],
]


@dataclass
class LoadedModel:
    """A loaded base model with its tokenizer and what we learned while loading it."""

    model: Any
    tokenizer: Any
    source_kind: str  # "hf_dir" | "gguf"
    path: Path
    memory_bytes: int
    notes: list[str] = field(default_factory=list)


def resolve_device(requested: str) -> str:
    """'auto' → cuda when available else cpu; 'cuda' without a GPU is an error."""
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(
            "device: cuda was requested but no CUDA GPU is available (use device: auto or cpu)"
        )
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def choose_precision(device: str, fp16: bool, bf16: bool) -> tuple[str, list[str]]:
    """The precision actually used ('fp32'|'fp16'|'bf16') and notes explaining any downgrade."""
    import torch

    notes: list[str] = []
    if device != "cuda":
        if fp16 or bf16:
            notes.append(f"{'fp16' if fp16 else 'bf16'} requested but training on {device}: using fp32")
        else:
            notes.append(f"training on {device} in fp32")
        return "fp32", notes
    if bf16:
        if torch.cuda.is_bf16_supported():
            return "bf16", notes
        notes.append("bf16 is not supported by this GPU: using fp16")
        return "fp16", notes
    if fp16:
        return "fp16", notes
    return "fp32", notes


def _param_bytes(model: Any) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def load_base_model(base_model: str) -> LoadedModel:
    """Load a local HF model folder or a .gguf file (dequantised to fp32) in fp32 on CPU.

    Anything else (a hub id, a missing path, a folder without config.json) raises ModelLoadError
    saying what is accepted; nothing is ever downloaded.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(base_model).expanduser()
    notes: list[str] = []
    if path.is_dir() and (path / "config.json").is_file():
        try:
            tok = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        except Exception as exc:
            raise ModelLoadError(f"cannot load the model folder {path}: {exc}") from exc
        kind = "hf_dir"
    elif path.is_file() and path.suffix.lower() == ".gguf":
        try:
            tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(
                path.parent, gguf_file=path.name, dtype=torch.float32
            )
        except Exception as exc:
            raise ModelLoadError(f"cannot load the GGUF file {path} through transformers: {exc}") from exc
        kind = "gguf"
        # The weights are plain fp32 tensors now; drop the GGUF "quantizer" marker, which would make
        # Trainer refuse to train and make merged models claim a quantization they do not have.
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:
            quantizer.remove_quantization_config(model)
        for module in model.modules():  # sub-configs were marked quantized too
            sub_config: Any = getattr(module, "config", None)
            if getattr(sub_config, "_is_quantized", False):
                sub_config._is_quantized = False
        mem = _param_bytes(model)
        notes.append(
            f"GGUF base model {path.name} was dequantised to fp32 for training: "
            f"{mem / 2**20:.1f} MiB of weights in memory (file {path.stat().st_size / 2**20:.1f} MiB)"
        )
    else:
        why = (
            "does not exist"
            if not path.exists()
            else "is neither a model folder with config.json nor a .gguf file"
        )
        raise ModelLoadError(
            f"base_model {base_model!r} {why}. Accepted: a local Hugging Face model folder (containing "
            "config.json and weights) or a local .gguf file. Hub ids are not downloaded: fetch the model first "
            "(e.g. `huggingface-cli download ORG/NAME --local-dir DIR`) and set base_model: DIR."
        )
    if tok.pad_token is None:
        # Padding only appears in validation batches; the eos token is a safe stand-in.
        tok.pad_token = tok.eos_token
    return LoadedModel(
        model=model, tokenizer=tok, source_kind=kind, path=path, memory_bytes=_param_bytes(model), notes=notes
    )


def base_model_hash(base_model: str | Path) -> str:
    """A quick, stable fingerprint of the base model: config + each weight file's size and edges."""
    path = Path(base_model)
    h = hashlib.sha256()
    files: list[Path]
    if path.is_file():
        files = [path]
    else:
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and (p.name == "config.json" or p.suffix in (".safetensors", ".bin"))
        )
    for f in files:
        size = f.stat().st_size
        h.update(f"{f.name}:{size}".encode())
        with f.open("rb") as fh:
            h.update(fh.read(1 << 20))
            if size > 2 << 20:
                fh.seek(size - (1 << 20))
                h.update(fh.read(1 << 20))
    return h.hexdigest()


def linear_layer_names(model: Any) -> list[str]:
    """The distinct leaf names of every Linear (or GPT-2 Conv1D) layer, e.g. ['down_proj', 'q_proj', …]."""
    import torch

    names: set[str] = set()
    for full, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) or type(module).__name__ == "Conv1D":
            names.add(full.rsplit(".", 1)[-1])
    return sorted(names)


def detect_target_modules(model: Any, spec: str | list[str]) -> list[str]:
    """Resolve `target_modules` ('auto' or names) against the model; unmatched names raise ModelLoadError."""
    available = linear_layer_names(model)
    model_type = str(getattr(getattr(model, "config", None), "model_type", "") or "")
    if spec == "auto":
        wanted = ARCH_TARGETS.get(model_type)
        if wanted and all(w in available for w in wanted):
            return list(wanted)
        for cand in FALLBACK_TARGETS:
            if all(c in available for c in cand):
                return list(cand)
        raise ModelLoadError(
            f"target_modules: auto found no known attention layers for model type {model_type!r}. "
            f"Set target_modules to some of this model's linear layers: {', '.join(available)}"
        )
    names = [spec] if isinstance(spec, str) else list(spec)
    missing = [n for n in names if n not in available]
    if missing:
        raise ModelLoadError(
            f"target_modules {missing} match no layer in this {model_type or 'model'}. "
            f"Its linear layers are: {', '.join(available)}"
        )
    return names


def config_json(path: Path) -> dict:
    """The model folder's config.json as a dict (empty for .gguf files)."""
    cfg = path / "config.json"
    return json.loads(cfg.read_text(encoding="utf-8")) if cfg.is_file() else {}
