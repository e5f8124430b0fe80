"""The training config: lora-scripts keys accepted, every error reported at once, paths resolved."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adapters.config import TrainConfig, load_config, parse_override
from adapters.errors import TrainConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "adapters" / "configs"
LORA_SCRIPTS_KEYS = {
    "train_data_dir": "data",
    "metadata_path": "data/meta.csv",
    "base_model": "/models/x",
    "task_type": "text-generation",
    "lora_rank": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.05,
    "target_modules": "q_proj,v_proj",
    "batch_size": 4,
    "gradient_accumulation_steps": 2,
    "epochs": 3,
    "learning_rate": 1e-4,
    "max_seq_length": 512,
    "fp16": True,
    "device": "auto",
    "output_dir": "out",
    "save_steps": 50,
    "logging_dir": "logs",
    "resume_from_checkpoint": False,
}


def test_accepts_every_lora_scripts_key(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(yaml.safe_dump(LORA_SCRIPTS_KEYS), encoding="utf-8")
    cfg = load_config(cfg_file, home=tmp_path)
    assert cfg.lora_rank == 8 and cfg.target_modules == ["q_proj", "v_proj"]
    assert cfg.output_dir == Path.cwd() / "out"
    assert not cfg.resume_from_checkpoint


def test_all_errors_reported_at_once_with_field_and_value(tmp_path: Path) -> None:
    bad = dict(LORA_SCRIPTS_KEYS, lora_rank=0, learning_rate="fast", device="tpu", lora_rnak=8)
    cfg_file = tmp_path / "bad.yaml"
    cfg_file.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(TrainConfigError) as info:
        load_config(cfg_file, home=tmp_path)
    msg = str(info.value)
    assert "4 invalid setting" in msg and str(cfg_file) in msg
    for needle in (
        "lora_rank",
        "got 0",
        "learning_rate",
        "'fast'",
        "device",
        "'tpu'",
        "lora_rnak: unknown key",
    ):
        assert needle in msg, needle


def test_missing_required_and_no_data(tmp_path: Path) -> None:
    with pytest.raises(TrainConfigError, match="base_model: required"):
        load_config(None, {"train_data_dir": "x"}, home=tmp_path)
    with pytest.raises(TrainConfigError, match="train_data_dir or metadata_path"):
        load_config(None, {"base_model": "m", "output_dir": "o"}, home=tmp_path)


def test_paths_next_to_config_and_home_placeholder(tmp_path: Path) -> None:
    (tmp_path / "cfg" / "data").mkdir(parents=True)
    cfg_file = tmp_path / "cfg" / "c.yaml"
    cfg_file.write_text(
        "train_data_dir: data\nbase_model: org/hub-model\noutput_dir: '{home}/adapters/x'\n"
        "logging_dir: '{output_dir}/tb'\nresume_from_checkpoint: latest\n",
        encoding="utf-8",
    )
    cfg = load_config(cfg_file, home=tmp_path / "home")
    assert cfg.train_data_dir == tmp_path / "cfg" / "data"
    assert cfg.base_model == "org/hub-model"  # kept for the loader's clear error
    assert cfg.output_dir == tmp_path / "home" / "adapters" / "x"
    assert cfg.tensorboard_dir == tmp_path / "home" / "adapters" / "x" / "tb"
    assert cfg.resume_from_checkpoint is True
    assert cfg.adapter_name == "x"


@pytest.mark.parametrize("name", ["medical_lora.yaml", "medical_csv_lora.yaml", "law_qa.yaml"])
def test_shipped_examples_validate_and_open_with_their_command(name: str, tmp_path: Path) -> None:
    path = CONFIGS / name
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# Run: yiju train --config adapters/configs/" + name)
    cfg = load_config(path, home=tmp_path)
    assert cfg.task_type == "text-generation"
    assert (cfg.train_data_dir or cfg.metadata_path).exists()


def test_example_values_match_the_issue(tmp_path: Path) -> None:
    med = load_config(CONFIGS / "medical_lora.yaml", home=tmp_path)
    assert (med.lora_rank, med.learning_rate, med.epochs, med.batch_size) == (8, 1.5e-4, 15, 4)
    csv_cfg = load_config(CONFIGS / "medical_csv_lora.yaml", home=tmp_path)
    assert (csv_cfg.lora_rank, csv_cfg.learning_rate, csv_cfg.target_modules) == (
        16,
        1e-4,
        ["q_proj", "v_proj"],
    )
    assert csv_cfg.metadata_path and csv_cfg.metadata_path.suffix == ".csv"
    law = load_config(CONFIGS / "law_qa.yaml", home=tmp_path)
    assert (law.lora_rank, law.lora_alpha, law.lora_dropout, law.max_seq_length, law.save_steps) == (
        16,
        32,
        0.1,
        512,
        50,
    )


def test_overrides_parse_as_yaml() -> None:
    assert parse_override("epochs=3") == ("epochs", 3)
    assert parse_override("fp16=true") == ("fp16", True)
    with pytest.raises(TrainConfigError):
        parse_override("epochs")
    # A value that is not a YAML scalar stays a string (the shipped configs use {home} in paths).
    assert parse_override("output_dir={home}/adapters/x") == ("output_dir", "{home}/adapters/x")


def test_model_rejects_unknown_fields_directly() -> None:
    with pytest.raises(Exception, match="extra"):
        TrainConfig(base_model="m", output_dir=Path("o"), train_data_dir=Path("d"), bogus=1)
