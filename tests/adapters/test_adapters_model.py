"""Base model loading errors, device/precision choice, and LoRA target-module detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.errors import ModelLoadError
from adapters.model import choose_precision, detect_target_modules, linear_layer_names, load_base_model


@pytest.mark.parametrize("arch_fixture", ["tiny_qwen", "tiny_llama"])
def test_auto_targets_for_qwen2_and_llama(arch_fixture: str, request: pytest.FixtureRequest) -> None:
    loaded = load_base_model(str(request.getfixturevalue(arch_fixture)))
    assert loaded.source_kind == "hf_dir" and loaded.memory_bytes > 0
    assert detect_target_modules(loaded.model, "auto") == ["q_proj", "v_proj"]
    assert detect_target_modules(loaded.model, ["k_proj", "o_proj"]) == ["k_proj", "o_proj"]


def test_unmatched_targets_list_the_linear_layers(tiny_qwen: Path) -> None:
    model = load_base_model(str(tiny_qwen)).model
    with pytest.raises(ModelLoadError) as info:
        detect_target_modules(model, ["query_key_value", "q_proj"])
    msg = str(info.value)
    assert "['query_key_value']" in msg
    for name in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
        assert name in msg


def test_gpt2_and_bloom_style_detection() -> None:
    from transformers import AutoModelForCausalLM, BloomConfig, GPT2Config

    gpt2 = AutoModelForCausalLM.from_config(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=64))
    assert "c_attn" in linear_layer_names(gpt2)
    assert detect_target_modules(gpt2, "auto") == ["c_attn"]
    bloom = AutoModelForCausalLM.from_config(BloomConfig(hidden_size=32, n_layer=1, n_head=2, vocab_size=64))
    assert detect_target_modules(bloom, "auto") == ["query_key_value"]


@pytest.mark.parametrize("value", ["Qwen/Qwen2-0.5B", "/nonexistent/model", "README.md"])
def test_bad_base_model_says_what_is_accepted(value: str) -> None:
    with pytest.raises(ModelLoadError) as info:
        load_base_model(value)
    msg = str(info.value)
    assert "local Hugging Face model folder" in msg and ".gguf" in msg


def test_precision_on_cpu_is_fp32_and_says_so() -> None:
    assert choose_precision("cpu", True, False) == (
        "fp32",
        ["fp16 requested but training on cpu: using fp32"],
    )
    prec, notes = choose_precision("cpu", False, False)
    assert prec == "fp32" and "fp32" in notes[0]
