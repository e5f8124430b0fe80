"""The one normalisation every safety check uses, and the safety package's import graph (no circles)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from safety.normalize import normalize, normalize_forms

SAFETY = Path(__file__).resolve().parents[2] / "safety"


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("保证胜\u3164诉", "保证胜诉"),  # U+3164 HANGUL FILLER renders as nothing
        ("保证\u200b胜诉", "保证胜诉"),  # zero width space
        ("保\u00ad证\ufeff胜\u2060诉", "保证胜诉"),  # soft hyphen, BOM, word joiner
        ("保証胜诉", "保证胜诉"),  # Japanese/variant form
        ("怎麼製作炸彈", "怎么制作炸弹"),  # traditional
        ("１３７ＡＢＣ", "137abc"),  # full-width digits and letters
        ("  多个   空格\t\n", "多个 空格"),
    ],
)
def test_normalize_folds_disguises(raw: str, want: str) -> None:
    assert normalize(raw) == want


def test_compact_form_drops_spaces_and_punctuation() -> None:
    spaced, compact = normalize_forms("保证 胜·诉！")
    assert spaced == "保证 胜·诉!"
    assert compact == "保证胜诉"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("safety."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("safety.")}
    return out


def test_safety_modules_import_no_circle() -> None:
    """Every import (including ones inside functions) counts: a lazy import is still a circle."""
    graph = {p.stem: _imports(p) for p in SAFETY.glob("*.py") if p.stem != "__init__"}

    def visit(node: str, stack: tuple[str, ...]) -> None:
        assert node not in stack, f"import circle: {' -> '.join((*stack, node))}"
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, (*stack, node))

    for module in graph:
        visit(module, ())
