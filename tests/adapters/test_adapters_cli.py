"""`yiju train` and `yiju adapters list|show|merge|export-gguf`, run through the real CLI app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from assistant.cli import app

CONFIGS = Path(__file__).resolve().parents[2] / "adapters" / "configs"
REPO = CONFIGS.parents[1]


def test_train_then_list_show_merge_export(tiny_qwen: Path, yiju_home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    sets = [
        f"--set=base_model={tiny_qwen}",
        "--set=epochs=1",
        "--set=refusal_ratio=0",
        "--set=save_steps=1000",
    ]
    res = runner.invoke(app, ["train", "--config", str(CONFIGS / "law_qa.yaml"), "--quiet", *sets])
    assert res.exit_code == 0, res.output
    assert "adapter law_qa (legal)" in res.output and "fp32" in res.output
    assert "'loss':" not in res.output and "'eval_loss':" not in res.output  # --quiet: no per-step log dicts
    assert (yiju_home / "adapters" / "law_qa" / "adapter_model.safetensors").is_file()  # {home} placeholder

    res = runner.invoke(app, ["adapters", "list", "--json"])
    assert res.exit_code == 0, res.output
    [item] = json.loads(res.output)
    assert item["name"] == "law_qa" and item["domain"] == "legal" and item["version"] == "v1"

    res = runner.invoke(app, ["adapters", "show", "law_qa"])
    assert res.exit_code == 0 and json.loads(res.output)["config"]["lora_rank"] == 16

    res = runner.invoke(app, ["adapters", "export-gguf", "law_qa", "--out", str(tmp_path / "law.gguf")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "law.gguf").stat().st_size > 1000

    res = runner.invoke(app, ["adapters", "merge", "law_qa", "--out", str(tmp_path / "merged")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "merged" / "model.safetensors").is_file() and (
        tmp_path / "merged" / "tokenizer.json"
    ).is_file()

    res = runner.invoke(app, ["adapters", "show", "nope"])
    assert res.exit_code == 1 and "no adapter named" in res.output


def test_train_errors_are_clear(tmp_path: Path, yiju_home: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "base_model: x\noutput_dir: o\ntrain_data_dir: d\nlora_rank: -1\nepoch: 3\n", encoding="utf-8"
    )
    res = CliRunner().invoke(app, ["train", "--config", str(bad)])
    assert res.exit_code == 1
    assert "lora_rank" in res.output and "epoch: unknown key" in res.output and "Traceback" not in res.output

    res = CliRunner().invoke(
        app, ["train", "--config", str(CONFIGS / "law_qa.yaml"), "--set", "refusal_ratio=0"]
    )  # the shipped base_model path is not there
    assert res.exit_code == 1 and "local Hugging Face model folder" in res.output


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "adapters.train", "--config", str(tmp_path / "missing.yaml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "config file not found" in proc.stderr
