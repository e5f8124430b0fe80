"""Real LoRA training on tiny models: the shipped configs end to end, loading, loss, early stopping, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.manifest import read_manifest
from adapters.registry import list_adapters
from adapters.train import train

CONFIGS = Path(__file__).resolve().parents[2] / "adapters" / "configs"


def _assert_adapter_dir(out: Path) -> dict:
    for name in (
        "adapter_model.safetensors",
        "adapter_config.json",
        "yiju_manifest.json",
        "summary.json",
        "loss.png",
    ):
        assert (out / name).is_file(), name
    assert list((out / "logs").rglob("events.out.tfevents.*")), "TensorBoard logs missing"
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("config", "fmt_samples"),
    [("medical_lora.yaml", 15), ("medical_csv_lora.yaml", 11), ("law_qa.yaml", 12)],
)
def test_shipped_config_runs_end_to_end(
    config: str, fmt_samples: int, tiny_qwen: Path, tmp_path: Path, fast, yiju_home: Path
) -> None:
    out = tmp_path / "out"
    opts = fast(tiny_qwen, out)
    del opts["refusal_ratio"]  # keep the config's own ratio: refusals come from the domain's built-in policy
    result = train(CONFIGS / config, opts, home=yiju_home, quiet=True)
    summary = _assert_adapter_dir(out)
    refusals = summary["refusal_samples"]["train"] + summary["refusal_samples"]["validation"]
    assert refusals >= 1 and summary["refusal_samples"]["train"] >= 1
    assert summary["samples"]["train"] + summary["samples"]["validation"] - refusals == fmt_samples
    assert summary["steps"] > 0 and summary["device"] == "cpu" and summary["precision"] == "fp32"
    assert any("fp32" in n for n in summary["notes"])
    m = read_manifest(out)
    assert m.domain in ("legal", "medical") and m.version == "v1" and len(m.data_hash) == 64
    assert m.base_model == str(tiny_qwen) and m.metrics["steps"] == summary["steps"]
    assert result.manifest.name == m.name
    if config == "medical_lora.yaml":  # its data has one duplicate line and one unstructured answer
        assert summary["duplicates_removed"] == 1 and summary["template_issues"] == 1


def test_adapter_loads_in_peft_and_changes_outputs(tiny_qwen: Path, tmp_path: Path, fast) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "a"
    train(CONFIGS / "law_qa.yaml", fast(tiny_qwen, out, epochs=3), quiet=True)
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["peft_type"] == "LORA" and cfg["r"] == 16 and cfg["lora_alpha"] == 32
    assert sorted(cfg["target_modules"]) == ["q_proj", "v_proj"]
    tok = AutoTokenizer.from_pretrained(tiny_qwen)
    ids = tok("【分类】劳动合同", return_tensors="pt")
    base = AutoModelForCausalLM.from_pretrained(tiny_qwen)
    with torch.no_grad():
        before = base(**ids).logits.clone()
        peft_model = PeftModel.from_pretrained(base, out)
        after = peft_model(**ids).logits
    assert not torch.allclose(before, after)


def test_validation_loss_goes_down(tiny_qwen: Path, tmp_path: Path, fast) -> None:
    out = tmp_path / "v"
    res = train(
        CONFIGS / "law_qa.yaml",
        fast(
            tiny_qwen, out, epochs=4, learning_rate=1e-2, validation_split=0.25, early_stopping_patience=None
        ),
        quiet=True,
    )
    s = res.summary
    assert s["samples"]["validation"] >= 2
    assert s["best_val_loss"] < s["val_loss_before"] - 0.02, s


def test_early_stopping_keeps_best_adapter(tiny_qwen: Path, tmp_path: Path, fast) -> None:
    from safetensors.torch import load_file

    out = tmp_path / "es"
    # A learning rate this small cannot improve the loss, so patience 1 stops after the second epoch.
    res = train(
        CONFIGS / "law_qa.yaml",
        fast(tiny_qwen, out, epochs=10, learning_rate=1e-12, early_stopping_patience=1),
        quiet=True,
    )
    s = res.summary
    assert s["early_stopped"] and s["epochs"] == 2.0 and len(s["val_losses"]) == 2
    assert s["adapter_from"] == "best validation loss"
    best = load_file(out / "best_adapter" / "adapter_model.safetensors")
    final = load_file(out / "adapter_model.safetensors")
    assert best.keys() == final.keys() and all((best[k] == final[k]).all() for k in best)


def test_refusal_samples_mixed_in_and_reported(
    tiny_qwen: Path, tmp_path: Path, fast, policy_file: Path
) -> None:
    out = tmp_path / "r"
    res = train(
        CONFIGS / "law_qa.yaml",
        fast(
            tiny_qwen, out, refusal_ratio=0.5, refusal_policy=str(policy_file), validation_split=0.2, epochs=1
        ),
        quiet=True,
    )
    s = res.summary
    total_refusals = s["refusal_samples"]["train"] + s["refusal_samples"]["validation"]
    assert total_refusals == 5  # round(10 train samples * 0.5)
    assert s["refusal_samples"]["train"] >= 3
    assert s["samples"]["train"] == 10 - 0 + s["refusal_samples"]["train"] - (12 - 10 - 2)
    assert read_manifest(out).refusal_samples == s["refusal_samples"]["train"]


def test_refusal_samples_from_builtin_domain_policy(tmp_path: Path) -> None:
    pytest.importorskip("safety.policy")
    from adapters.refusal import build_refusal_samples

    try:
        samples = build_refusal_samples("legal", n_train=40, ratio=0.25, seed=3)
    except Exception as exc:  # the safety work stream ships safety/policies/legal.yaml
        pytest.skip(f"built-in legal policy not available yet: {exc}")
    assert len(samples) == 10 or len(samples) == len({s.key() for s in samples})
    assert all(s.kind == "refusal" and s.completion for s in samples)
    assert len({s.key() for s in samples}) == len(samples)


def test_registry_lists_trained_adapters(tiny_qwen: Path, fast, yiju_home: Path) -> None:
    out = yiju_home / "adapters" / "law"
    train(CONFIGS / "law_qa.yaml", fast(tiny_qwen, out, epochs=1, name="law-v"), quiet=True)
    (yiju_home / "adapters" / "broken").mkdir()
    (yiju_home / "adapters" / "broken" / "yiju_manifest.json").write_text("{not json", encoding="utf-8")
    [m] = list_adapters(yiju_home)
    assert (m.name, m.domain, m.path) == ("law-v", "legal", str(out.resolve()))
    train(CONFIGS / "law_qa.yaml", fast(tiny_qwen, out, epochs=1, name="law-v"), quiet=True)
    assert list_adapters(yiju_home)[0].version == "v2"


def test_packed_batch_gives_the_padded_loss(tiny_qwen: Path) -> None:
    """Packing must not change the maths: block-diagonal attention ≡ separate padded samples."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from adapters.data import Sample
    from adapters.recipe import PackingCollator, tokenize_samples

    tok = AutoTokenizer.from_pretrained(tiny_qwen)
    model = AutoModelForCausalLM.from_pretrained(tiny_qwen).eval()
    # One long sample and short ones: rows are capped at the longest sample, so the short ones share.
    samples = [
        Sample(
            prompt=f"问题{i}" * (12 if i == 0 else i + 1),
            completion="【分类】劳动合同 第三十八条" * (3 - i % 3),
        )
        for i in range(5)
    ]
    rows = tokenize_samples(tok, samples, 128, None)
    longest = max(len(r["input_ids"]) for r in rows)
    packed = PackingCollator(tok.pad_token_id, True, max_len=2 * longest)(rows)
    padded = PackingCollator(tok.pad_token_id, False)(rows)
    assert packed["input_ids"].shape[0] < len(rows)  # several samples share a row
    assert int((packed["labels"] != -100).sum()) == int((padded["labels"] != -100).sum())
    with torch.no_grad():
        assert torch.allclose(model(**packed).loss, model(**padded).loss, atol=1e-5)
