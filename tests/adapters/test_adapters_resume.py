"""Interrupted runs resume from their last checkpoint and end with the same step count and weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from safetensors.torch import load_file
from transformers import TrainerCallback

from adapters.train import train

CONFIGS = Path(__file__).resolve().parents[2] / "adapters" / "configs"


class _Interrupt(TrainerCallback):
    """Raise (like a crash) once `at_step` optimiser steps are done."""

    def __init__(self, at_step: int) -> None:
        self.at_step = at_step

    def on_step_end(self, args, state, control, **kw):  # noqa: ANN001, ANN201
        if state.global_step == self.at_step:
            raise RuntimeError("simulated crash")


class _FirstStep(TrainerCallback):
    def __init__(self) -> None:
        self.first: int | None = None

    def on_step_begin(self, args, state, control, **kw):  # noqa: ANN001, ANN201
        if self.first is None:
            self.first = state.global_step


def _opts(fast, model: Path, out: Path, **kw) -> dict:
    base = {"epochs": 3, "save_steps": 2, "learning_rate": 1e-2, "early_stopping_patience": None}
    return fast(model, out, **{**base, **kw})


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_file(a / "adapter_model.safetensors"), load_file(b / "adapter_model.safetensors")
    return wa.keys() == wb.keys() and all((wa[k] - wb[k]).abs().max() < 1e-5 for k in wa)


def test_crashed_run_resumes_to_same_steps_and_weights(tiny_qwen: Path, tmp_path: Path, fast) -> None:
    ref = train(CONFIGS / "law_qa.yaml", _opts(fast, tiny_qwen, tmp_path / "ref"), quiet=True).summary
    assert ref["steps"] == 9  # 10 training samples / batch 4 → 3 steps × 3 epochs

    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(CONFIGS / "law_qa.yaml", _opts(fast, tiny_qwen, out), callbacks=[_Interrupt(5)], quiet=True)
    assert (out / "checkpoint-4").is_dir() and not (out / "adapter_model.safetensors").exists()

    first = _FirstStep()
    res = train(
        CONFIGS / "law_qa.yaml",
        _opts(fast, tiny_qwen, out, resume_from_checkpoint=True),
        callbacks=[first],
        quiet=True,
    )
    assert first.first == 4, "did not resume from checkpoint-4"
    assert res.summary["steps"] == ref["steps"]
    assert _same_weights(tmp_path / "ref", out)


def test_resume_without_checkpoint_starts_fresh(tiny_qwen: Path, tmp_path: Path, fast) -> None:
    res = train(
        CONFIGS / "law_qa.yaml",
        _opts(fast, tiny_qwen, tmp_path / "fresh", resume_from_checkpoint=True, epochs=1),
        quiet=True,
    )
    assert res.summary["steps"] == 3


@pytest.mark.slow
def test_sigkilled_process_resumes(tiny_qwen: Path, tmp_path: Path, fast) -> None:
    out = tmp_path / "killed"
    opts = _opts(fast, tiny_qwen, out)
    script = textwrap.dedent(
        f"""
        import os, signal
        import torch
        torch.set_num_threads(1)
        from transformers import TrainerCallback
        from adapters.train import train

        class Kill(TrainerCallback):
            def on_save(self, args, state, control, **kw):
                if state.global_step >= 4:
                    os.kill(os.getpid(), signal.SIGKILL)

        train({str(CONFIGS / "law_qa.yaml")!r}, {opts!r}, callbacks=[Kill()], quiet=True)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(CONFIGS.parents[1]))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert (out / "checkpoint-4").is_dir()
    res = train(CONFIGS / "law_qa.yaml", dict(opts, resume_from_checkpoint=True), quiet=True)
    assert res.summary["steps"] == 9
