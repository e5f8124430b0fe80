"""Answer quality on the full real corpus (issues 9, 10, 12 "Done when"): the checked-in everyday sets.

Builds a knowledge base from ALL of ../shared/corpus/laws and ../shared/corpus/medical with the CLI (about
5-10 minutes on 2 cores; skipped when ../shared is absent), or reuses the one named by $YIJU_QUALITY_HOME
(already imported the same way). Then asks every question of tests/quality/ through the pipeline with the
extractive generator, as `bench/answer_quality.py --home DIR` does, and checks the figures.

The issues' targets are NOT all met. Where a target is met the test asserts it; where it is not, the test
asserts the floor measured when it was written (a regression guard) and TARGETS records the goal — see the
README's "Answer quality" table and /work/NOTES/grounding.md. Raise a floor when a change lifts the figure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.grounding.evaluate import load_quality_set, run_set, summarize
from tests.conftest import REPO_ROOT, SHARED

pytestmark = pytest.mark.slow

QUALITY = REPO_ROOT / "tests" / "quality"
# The issues' "Done when" figures (all questions of each set).
TARGETS = {
    ("legal", "first_citation_governing"): 0.85,
    ("legal", "first_point_states_rule_of_answered"): 1.0,
    ("medical", "gold_cited"): 0.80,
    ("medical", "with_unrelated_document"): 0,
}
# Measured on the full corpus when written (2026-12-01, main de2e5da: grounding's session-3 composer + retrieval's
# legal vocabulary 4b0ff7f, all questions), minus a small margin; see the module docstring.
FLOORS = {
    ("legal", "answered"): 0.96,  # 1.0 at session 10 (0.981 at 8e1d64f; 0.962 at c9fd3bb)
    ("legal", "first_citation_governing"): 0.83,  # 0.865 at session 10 (0.769 at its start) — target 0.85 met
    # 0.827 at session 10 (0.725 at its start) — target 1.0 NOT met
    ("legal", "first_point_states_rule_of_answered"): 0.78,
    ("medical", "answered"): 0.90,  # 0.94 at 65f26a9 (answered when answerable; was 0.88)
    ("medical", "gold_cited"): 0.86,  # 0.90 at session 11 (0.84 at 461f079) — target 0.80 met
    ("unanswerable", "no_basis"): 0.82,  # 0.85 at 039610a (0.825 before; no basis when not answerable)
}
# measured 1 of 50 in session 10 (医院制剂 scoped; M50's 条例 marked related), 3 at session 9's end, 5 at f9cb951,
# 8 at first — target 0 NOT met (M45 多点执业 <- 医疗机构管理条例)
CEILINGS = {("medical", "with_unrelated_document"): 1}


def _import(home: Path, source: Path) -> None:
    cmd = [sys.executable, "-m", "assistant", "--home", str(home), "kb", "import", str(source), "--json"]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def full_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the whole shared corpus (or $YIJU_QUALITY_HOME)."""
    given = os.environ.get("YIJU_QUALITY_HOME")
    if given:
        return Path(given)
    laws, medical = SHARED / "corpus" / "laws", SHARED / "corpus" / "medical"
    if not laws.is_dir() or not medical.is_dir():
        pytest.skip("../shared/corpus is not present")
    home = tmp_path_factory.mktemp("quality-home")
    _import(home, laws)
    _import(home, medical)
    return home


@pytest.fixture(scope="module")
def figures(full_home: Path) -> dict[str, dict]:
    """bench/answer_quality.py's figures for the three sets, all questions."""
    from assistant.pipeline import Pipeline

    pipeline = Pipeline.from_home(full_home)
    try:
        out = {}
        for name, file, domain in (
            ("legal", "legal_everyday.jsonl", "legal"),
            ("medical", "medical_everyday.jsonl", "medical"),
            ("unanswerable", "unanswerable.jsonl", "legal"),
        ):
            items = load_quality_set(QUALITY / file)
            results = run_set(items, lambda q, d: pipeline.ask(q, domain=d), domain)
            out[name] = summarize(results, name)
        return out
    finally:
        pipeline.close()


@pytest.mark.parametrize(("key", "floor"), sorted(FLOORS.items()))
def test_answer_quality_holds_its_measured_floor(figures, key, floor) -> None:
    name, figure = key
    value = figures[name][figure]
    target = TARGETS.get(key)
    assert value >= floor, f"{name} {figure} = {value} fell below {floor} (target {target}); {figures[name]}"


@pytest.mark.parametrize(("key", "ceiling"), sorted(CEILINGS.items()))
def test_answers_with_unrelated_documents_stay_few(figures, key, ceiling) -> None:
    name, figure = key
    assert figures[name][figure] <= ceiling, figures[name]
