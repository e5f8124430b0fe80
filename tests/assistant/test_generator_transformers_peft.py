"""The transformers_peft generator with a tiny config-initialised model and two PEFT LoRA adapters.

No downloads: the model and tokenizer are built by tests/tiny_models.py; adapters are created with PEFT
directly (random A and B, so each adapter really changes the computation).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from assistant.errors import GeneratorError
from assistant.generators import build_generator
from assistant.generators.base import GenParams, Message
from assistant.generators.config import TransformersPeftConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_models import build_tiny_model  # noqa: E402

torch = pytest.importorskip("torch")
MESSAGES = [Message(role="system", content="规则"), Message(role="user", content="公司拖欠工资怎么办？")]


def _make_adapter(model_dir: Path, out: Path, seed: int) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
    cfg = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft_model = get_peft_model(base, cfg)
    peft_model.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    model_dir = build_tiny_model(root / "model")
    return {
        "model": model_dir,
        "legal": _make_adapter(model_dir, root / "legal", seed=1),
        "medical": _make_adapter(model_dir, root / "medical", seed=2),
    }


@pytest.fixture(scope="module")
def gen(tiny: dict[str, Path]):
    cfg = TransformersPeftConfig(
        model_dir=tiny["model"],
        adapters={"legal": tiny["legal"], "medical": tiny["medical"]},
        max_new_tokens=12,
    )
    g = build_generator(cfg)
    yield g
    g.close()


def _logits(gen, adapter: str | None) -> torch.Tensor:
    ids = gen.tokenizer("【分类】劳动合同 【要点】", return_tensors="pt")
    with gen._activate(adapter), torch.inference_mode():
        return gen.model(**ids).logits[0, -1].clone()


def test_adapter_switch_changes_the_weights_that_run(gen) -> None:
    assert gen.adapters() == ["legal", "medical"]
    model_id = id(gen.model)
    legal, medical, base = _logits(gen, "legal"), _logits(gen, "medical"), _logits(gen, None)
    assert not torch.allclose(legal, medical, atol=1e-5)
    assert not torch.allclose(legal, base, atol=1e-5) and not torch.allclose(medical, base, atol=1e-5)
    # Switching back is a pointer switch: the same numbers again, the same model object (no reload).
    assert torch.allclose(_logits(gen, "legal"), legal)
    assert gen.model.active_adapter == "legal"
    assert id(gen.model) == model_id


def test_generate_is_deterministic_and_uses_the_requested_adapter(gen) -> None:
    out_legal = gen.generate(MESSAGES, GenParams(adapter="legal", max_new_tokens=8))
    again = gen.generate(MESSAGES, GenParams(adapter="legal", max_new_tokens=8))
    assert isinstance(out_legal, str) and again == out_legal  # greedy: deterministic
    assert gen.model.active_adapter == "legal"
    gen.generate(MESSAGES, GenParams(adapter="medical", max_new_tokens=8))
    assert gen.model.active_adapter == "medical"


def test_unknown_adapter_runs_the_base_model(gen) -> None:
    assert gen.resolve_adapter("tax") is None
    assert isinstance(gen.generate(MESSAGES, GenParams(adapter="tax", max_new_tokens=4)), str)


def test_mixed_batch_uses_per_row_adapters(gen) -> None:
    outs = gen.generate_batch(
        [(MESSAGES, "legal"), (MESSAGES, "medical"), (MESSAGES, None)], GenParams(max_new_tokens=6)
    )
    assert len(outs) == 3 and all(isinstance(o, str) for o in outs)


def test_corrupt_adapter_is_isolated(tiny: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "adapter_config.json").write_text("{not json", encoding="utf-8")
    g = build_generator(
        TransformersPeftConfig(model_dir=tiny["model"], adapters={"legal": tiny["legal"], "medical": bad})
    )
    assert g.adapters() == ["legal"]
    with pytest.raises(GeneratorError, match="medical"):
        g.resolve_adapter("medical")
    assert g.resolve_adapter("legal") == "legal"
    g.close()


def test_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    g = build_generator(TransformersPeftConfig(model_dir=tmp_path / "nope"))
    with pytest.raises(GeneratorError, match="no config.json"):
        g.generate(MESSAGES, GenParams())
    with pytest.raises(GeneratorError, match="no config.json"):  # remembered, not retried every request
        g.load()


def _install_adapter(tiny: dict[str, Path], home: Path, domain: str, name: str) -> Path:
    """Copy the tiny `domain` adapter into <home>/adapters/<name> with a v1 yiju_manifest.json."""
    import shutil

    dest = home / "adapters" / name
    shutil.copytree(tiny[domain], dest)
    manifest = {
        "name": name,
        "domain": domain,
        "base_model": str(tiny["model"]),
        "base_model_hash": "x",
        "data_hash": "y",
        "version": "v1",
        "created_at": "2026-01-01T00:00:00Z",
    }
    (dest / "yiju_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return dest


def test_registry_discovery_by_manifest(tiny: dict[str, Path], tmp_path: Path) -> None:
    """Without explicit adapters, <home>/adapters/* with yiju_manifest.json are found by name and domain."""
    home = tmp_path / "home"
    _install_adapter(tiny, home, "legal", "legal-v1")
    g = build_generator(TransformersPeftConfig(model_dir=tiny["model"]), home)
    assert g.resolve_adapter("legal") == "legal-v1"  # the domain name finds the domain's adapter
    assert g.resolve_adapter("legal-v1") == "legal-v1"
    g.close()


def test_pipeline_with_tiny_model_falls_back_on_malformed_output(gen, make_pipeline, audit) -> None:
    """A random tiny model cannot write the format: one repair attempt, then the flagged extractive answer."""
    r = make_pipeline(gen).ask("公司拖欠工资，劳动者可以解除劳动合同吗？", domain="legal")
    assert r.status == "answered"
    assert {"malformed_output", "extractive_fallback"} <= set(r.flags)
    assert r.generator == "transformers_peft" and r.adapter == "legal"
    assert r.citations
    row = audit.get(r.turn_id)
    assert row["adapter_name"] == "legal" and row["generator_kind"] == "transformers_peft"
    assert "--- repair ---" in row["raw_answer"]


def test_audit_records_the_manifest_of_the_adapter_directory_used(
    tiny: dict[str, Path], make_pipeline, audit, tmp_path: Path
) -> None:
    """Config key `medical` → <home>/adapters/medical_lora: the audit records the manifest's name and
    version (medical_lora, v1), not the domain key, and no version-less row."""
    home = tmp_path / "home"
    dest = _install_adapter(tiny, home, "medical", "medical_lora")
    g = build_generator(
        TransformersPeftConfig(model_dir=tiny["model"], adapters={"medical": dest}, max_new_tokens=4)
    )
    try:
        r = make_pipeline(g, home=home).ask("医院拒绝给我复印病历怎么办？", domain="medical")
        assert r.generator == "transformers_peft" and r.adapter == "medical_lora"
        row = audit.get(r.turn_id)
        assert (row["adapter_name"], row["adapter_version"]) == ("medical_lora", "v1")
        # The legal domain has no adapter configured: base model, nothing recorded.
        r2 = make_pipeline(g, home=home).ask("公司拖欠工资，劳动者可以解除劳动合同吗？", domain="legal")
        row2 = audit.get(r2.turn_id)
        assert (row2["adapter_name"], row2["adapter_version"]) == ("", "")
    finally:
        g.close()
