"""Merge and GGUF: a tiny GGUF base trains, the adapter exports as a llama.cpp GGUF LoRA, merges match PEFT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import write_tiny_gguf

from adapters.export import _permute, export_gguf, merge_adapter
from adapters.train import train

CONFIGS = Path(__file__).resolve().parents[2] / "adapters" / "configs"


def _fields(reader) -> dict:  # noqa: ANN001
    out = {}
    for name, field in reader.fields.items():
        try:
            out[name] = field.contents()
        except Exception:  # noqa: BLE001 - some array fields have no simple value
            out[name] = None
    return out


def test_gguf_round_trip(tmp_path: Path, fast) -> None:
    import gguf
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    base = write_tiny_gguf(tmp_path / "base" / "tiny-llama.gguf")
    out = tmp_path / "adapter"
    res = train(CONFIGS / "law_qa.yaml", fast(base, out, epochs=1), quiet=True)
    assert any("dequantised" in n and "MiB" in n for n in res.summary["notes"])

    lora_path = export_gguf(out, tmp_path / "lora.gguf")
    reader = gguf.GGUFReader(str(lora_path))
    fields = _fields(reader)
    assert fields["general.type"] == "adapter" and fields["adapter.type"] == "lora"
    assert fields["general.architecture"] == "llama"
    assert fields["adapter.lora.alpha"] == pytest.approx(32.0)
    tensors = {t.name: np.array(t.data) for t in reader.tensors}
    expected = {f"blk.{i}.attn_{p}.weight.lora_{ab}" for i in range(2) for p in "qv" for ab in "ab"}
    assert set(tensors) == expected

    peft_w = load_file(out / "adapter_model.safetensors")
    pre = "base_model.model.model.layers.0.self_attn"
    a_q = peft_w[f"{pre}.q_proj.lora_A.weight"].numpy()
    b_q = peft_w[f"{pre}.q_proj.lora_B.weight"].numpy()
    assert tensors["blk.0.attn_q.weight.lora_a"].shape == a_q.shape == (16, 64)
    assert np.allclose(tensors["blk.0.attn_q.weight.lora_a"], a_q)
    # q rows are permuted exactly as llama.cpp stores the base attn_q (transformers un-permutes on load).
    assert np.allclose(tensors["blk.0.attn_q.weight.lora_b"], _permute(b_q, 4))
    assert np.allclose(tensors["blk.0.attn_v.weight.lora_b"], peft_w[f"{pre}.v_proj.lora_B.weight"].numpy())
    base_reader = gguf.GGUFReader(str(base))
    gguf_q = next(np.array(t.data) for t in base_reader.tensors if t.name == "blk.0.attn_q.weight")
    hf = AutoModelForCausalLM.from_pretrained(base.parent, gguf_file=base.name)
    assert np.allclose(gguf_q, _permute(hf.model.layers[0].self_attn.q_proj.weight.detach().numpy(), 4))
    # and the adapter still loads on the GGUF-dequantised base in PEFT
    assert PeftModel.from_pretrained(hf, out) is not None


def test_qwen2_gguf_export_keeps_rows(tiny_qwen: Path, tmp_path: Path, fast) -> None:
    import gguf
    from safetensors.torch import load_file

    out = tmp_path / "a"
    train(CONFIGS / "law_qa.yaml", fast(tiny_qwen, out, epochs=1, use_rslora=True), quiet=True)
    reader = gguf.GGUFReader(str(export_gguf(out, tmp_path / "q.gguf")))
    assert _fields(reader)["general.architecture"] == "qwen2"
    assert _fields(reader)["adapter.lora.alpha"] == pytest.approx(32.0 * 4)  # rsLoRA folded: alpha·√r
    t = {x.name: np.array(x.data) for x in reader.tensors}
    w = load_file(out / "adapter_model.safetensors")
    assert np.allclose(
        t["blk.1.attn_q.weight.lora_b"], w["base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"]
    )


def test_dora_export_is_refused(tiny_qwen: Path, tmp_path: Path, fast) -> None:
    from adapters.errors import AdapterError

    out = tmp_path / "d"
    res = train(CONFIGS / "law_qa.yaml", fast(tiny_qwen, out, epochs=1, use_dora=True), quiet=True)
    assert any("DoRA" in n for n in res.summary["notes"])
    with pytest.raises(AdapterError, match="DoRA"):
        export_gguf(out, tmp_path / "d.gguf")


def test_merge_matches_peft_outputs(tiny_qwen: Path, tmp_path: Path, fast) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "a"
    train(CONFIGS / "law_qa.yaml", fast(tiny_qwen, out, epochs=2, learning_rate=2e-2), quiet=True)
    merged_dir = merge_adapter(out, tmp_path / "merged")
    tok = AutoTokenizer.from_pretrained(merged_dir)
    ids = tok("用户：公司拖欠工资怎么办？", return_tensors="pt")
    with torch.no_grad():
        merged = AutoModelForCausalLM.from_pretrained(merged_dir)(**ids).logits
        peft_logits = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_qwen), out)(
            **ids
        ).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_qwen)(**ids).logits
    assert torch.allclose(merged, peft_logits, atol=1e-4)
    assert not torch.allclose(merged, base, atol=1e-4)
