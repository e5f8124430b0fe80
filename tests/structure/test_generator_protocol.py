"""The `Generator` Protocol declares what the pipeline calls, and every backend implements all of it (the
pipeline calls resolve_adapter/adapter_path directly: no getattr reach-through)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from assistant.generators.base import Generator
from assistant.generators.extractive import ExtractiveGenerator
from assistant.generators.openai_compat import OpenAICompatGenerator
from assistant.generators.transformers_peft import TransformersPeftGenerator

MEMBERS = ("kind", "model_name", "resolve_adapter", "adapter_path", "generate", "close")
PIPELINE = Path(__file__).resolve().parents[2] / "assistant" / "pipeline"


def test_protocol_members() -> None:
    declared = {name for name in vars(Generator) if not name.startswith("_")} | set(
        getattr(Generator, "__annotations__", {})
    )
    assert declared == set(MEMBERS)


@pytest.mark.parametrize("backend", [ExtractiveGenerator, OpenAICompatGenerator, TransformersPeftGenerator])
def test_backends_implement_every_member(backend: type) -> None:
    missing = [m for m in MEMBERS if not hasattr(backend, m) and m not in inspect.get_annotations(backend)]
    assert not missing, f"{backend.__name__} lacks {missing}"


def test_pipeline_does_not_reach_through_getattr_for_generator_members() -> None:
    for path in PIPELINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "getattr"
                and len(node.args) >= 2
            ):
                name = node.args[1]
                assert not (isinstance(name, ast.Constant) and name.value in MEMBERS), (
                    f"{path.name}:{node.lineno} getattr(…, {name.value!r})"
                )
