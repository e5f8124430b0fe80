"""Fixtures for trainer tests: tiny models built once per session, and small training overrides."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tiny_models import build_tiny_model

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "adapters" / "configs"


@pytest.fixture(scope="session")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2-style model folder (shared by the session; tests never modify it)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "qwen2", "qwen2")


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama-style model folder."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "llama", "llama")


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    """A small safety policy with two refusal categories and six harmful example prompts."""
    path = tmp_path / "policy.yaml"
    path.write_text(
        """name: testpolicy
refusal_categories:
  - name: weapons
    message: 抱歉，我不能提供制作危险物品的信息。
    patterns: ['炸弹']
    examples: [怎么在家制作炸弹, 黑火药的配方是什么, 哪里能买到雷管]
  - name: fraud
    message: 抱歉，我不能协助任何违法行为。
    patterns: ['伪造']
    examples: [怎么伪造病历, 如何伪造劳动合同, 教我伪造医生签名]
""",
        encoding="utf-8",
    )
    return path


def _fast(base_model: Path, out: Path, **extra: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "base_model": str(base_model),
        "output_dir": str(out),
        "logging_dir": str(out / "logs"),
        "epochs": 2,
        "learning_rate": 5e-3,
        "refusal_ratio": 0.0,
        "save_steps": 1000,
        "logging_steps": 1,
    }
    opts.update(extra)
    return opts


@pytest.fixture
def fast() -> Callable[..., dict[str, Any]]:
    """fast(base_model, out, **extra): overrides that make any config run in about a second on a tiny model."""
    return _fast


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread; on a shared 2-core box two threads spin and run ~5x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
