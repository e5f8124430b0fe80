"""Merge an adapter into its base model, or export it as a GGUF LoRA for llama.cpp (`--lora`).

The GGUF layout follows llama.cpp's `convert_lora_to_gguf.py`: general.type=adapter, adapter.type=lora,
adapter.lora.alpha, and for each adapted weight `blk.N.attn_q.weight.lora_a` (r × in) and `.lora_b`
(out × r). For llama-family models llama.cpp stores q/k rows permuted for its RoPE layout, so lora_b of
q_proj/k_proj is permuted the same way the converter permutes the base weights.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from adapters.errors import AdapterError
from adapters.manifest import MANIFEST_NAME, read_manifest

log = logging.getLogger("yiju.adapters")
# Architectures whose converter permutes attn_q/attn_k (LlamaModel.modify_tensors in convert_hf_to_gguf.py).
_ROPE_PERMUTED = {"llama", "mistral"}


def _base_of(adapter_dir: Path, base_model: str | Path | None) -> str:
    if base_model:
        return str(base_model)
    if (adapter_dir / MANIFEST_NAME).is_file():
        return read_manifest(adapter_dir).base_model
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    return str(cfg.get("base_model_name_or_path") or "")


def merge_adapter(adapter_dir: Path, out_dir: Path, base_model: str | Path | None = None) -> Path:
    """Write base model + adapter merged into one full model folder (weights, config, tokenizer)."""
    from peft import PeftModel

    from adapters.model import load_base_model

    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise AdapterError(f"{adapter_dir} is not an adapter folder (no adapter_config.json)")
    loaded = load_base_model(_base_of(adapter_dir, base_model))
    model = PeftModel.from_pretrained(loaded.model, adapter_dir)
    merged = model.merge_and_unload()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out_dir)
    loaded.tokenizer.save_pretrained(out_dir)
    if (adapter_dir / MANIFEST_NAME).is_file():
        m = read_manifest(adapter_dir)
        (out_dir / "yiju_merged_from.json").write_text(
            json.dumps(
                {"adapter": m.name, "version": m.version, "base_model": m.base_model}, ensure_ascii=False
            ),
            encoding="utf-8",
        )
    return out_dir


def _permute(w, n_head: int):  # noqa: ANN001, ANN202 - numpy in, numpy out
    """llama.cpp's q/k row permutation (convert_hf_to_gguf.LlamaModel.permute)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def export_gguf(
    adapter_dir: Path,
    out_path: Path,
    base_model: str | Path | None = None,
    *,
    base_config: dict | None = None,
) -> Path:
    """Write the PEFT LoRA in `adapter_dir` as a GGUF LoRA adapter file (f32 tensors)."""
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    adapter_dir = Path(adapter_dir)
    cfg_path = adapter_dir / "adapter_config.json"
    weights = adapter_dir / "adapter_model.safetensors"
    if not cfg_path.is_file() or not weights.is_file():
        raise AdapterError(f"{adapter_dir} needs adapter_config.json and adapter_model.safetensors")
    lcfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    if lcfg.get("use_dora"):
        raise AdapterError("DoRA adapters cannot be exported to GGUF (llama.cpp supports plain LoRA only)")
    hparams = base_config if base_config is not None else _base_hparams(_base_of(adapter_dir, base_model))
    model_type = str(hparams.get("model_type", "")).lower()
    arch_by_name = {name: arch for arch, name in gguf.MODEL_ARCH_NAMES.items()}
    if model_type not in arch_by_name:
        raise AdapterError(
            f"GGUF export does not know the llama.cpp architecture for model type {model_type!r}"
        )
    arch = arch_by_name[model_type]
    n_layers = int(hparams.get("num_hidden_layers") or hparams.get("block_count") or 0)
    n_head = int(hparams.get("num_attention_heads") or 0)
    n_kv = int(hparams.get("num_key_value_heads") or n_head)
    name_map = gguf.get_tensor_name_map(arch, n_layers)

    alpha = float(lcfg["lora_alpha"])
    if lcfg.get("use_rslora"):
        # llama.cpp scales by alpha / r; fold rsLoRA's alpha / sqrt(r) into an equivalent alpha.
        alpha = alpha * (int(lcfg["r"]) ** 0.5)
    tensors = load_file(str(weights))
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for name, t in tensors.items():
        if ".lora_A." not in name and ".lora_B." not in name:
            raise AdapterError(
                f"unexpected tensor {name!r} in the adapter (only lora_A/lora_B can be exported)"
            )
        base = name.replace("base_model.model.", "", 1).replace(".lora_A.weight", ".weight")
        base = base.replace(".lora_B.weight", ".weight")
        pairs.setdefault(base, {})["A" if ".lora_A." in name else "B"] = t.astype(np.float32)

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out_path), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    writer.add_name(adapter_dir.name)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for base, ab in sorted(pairs.items()):
        if "A" not in ab or "B" not in ab:
            raise AdapterError(f"{base}: adapter has only one of lora_A/lora_B")
        gname = name_map.get_name(base, try_suffixes=(".weight", ".bias"))
        if gname is None:
            raise AdapterError(f"no llama.cpp tensor name for {base!r} ({model_type})")
        lora_a, lora_b = ab["A"], ab["B"]
        if model_type in _ROPE_PERMUTED and base.endswith(("q_proj.weight", "k_proj.weight")):
            heads = n_head if base.endswith("q_proj.weight") else n_kv
            lora_b = np.ascontiguousarray(_permute(lora_b, heads))
        writer.add_tensor(f"{gname}.lora_a", np.ascontiguousarray(lora_a))
        writer.add_tensor(f"{gname}.lora_b", np.ascontiguousarray(lora_b))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    log.info("wrote GGUF LoRA %s (%d adapted tensors, alpha %.1f)", out_path, len(pairs), alpha)
    return out_path


def _base_hparams(base_model: str) -> dict:
    """The base model's config as a dict: config.json of a folder, or the model config of a .gguf file."""
    path = Path(base_model)
    if path.is_dir() and (path / "config.json").is_file():
        return json.loads((path / "config.json").read_text(encoding="utf-8"))
    if path.is_file() and path.suffix.lower() == ".gguf":
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(path.parent, gguf_file=path.name).to_dict()
    raise AdapterError(
        f"base model {base_model!r} not found; pass --base DIR (a model folder or .gguf file) for its config"
    )
