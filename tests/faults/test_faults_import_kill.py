"""`kill -9` of `yiju kb import` half-way: every file imported before the kill is complete, no law is
half-written, and re-running the import completes the rest (skipping what is already there)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

from tests.server_harness import OFFLINE_ENV  # noqa: E402

pytestmark = pytest.mark.slow
N_FILES = 36


def _pick_laws(laws: Path, n: int) -> list[Path]:
    """`n` mid-sized statute files from one category folder, in a stable order."""
    files = sorted(p for p in laws.rglob("*.md") if 6_000 < p.stat().st_size < 60_000)
    if len(files) < n:
        pytest.skip(f"only {len(files)} suitable statute files under {laws}")
    step = max(1, len(files) // n)
    return files[::step][:n]


def _cli(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", "--home", str(home), *args]


def _env() -> dict[str, str]:
    return {**os.environ, **OFFLINE_ENV, "PYTHONPATH": str(REPO_ROOT)}


def _manifest(home: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(n_articles by file, stored article rows by file) straight from kb.sqlite."""
    conn = sqlite3.connect(f"file:{home / 'kb.sqlite'}?mode=ro", uri=True, timeout=10)
    try:
        files = {r[0]: int(r[1]) for r in conn.execute("SELECT path, n_articles FROM files")}
        rows = {r[0]: int(r[1]) for r in conn.execute("SELECT file, COUNT(*) FROM articles GROUP BY file")}
    finally:
        conn.close()
    return files, rows


def _files_landed(home: Path) -> int:
    try:
        return len(_manifest(home)[0])
    except sqlite3.Error:
        return 0  # not created yet, or mid-schema


def _expected_articles(path: Path) -> int:
    from knowledge.sources import load_file

    return sum(len(d.articles) for d in load_file(path))


def _assert_complete(home: Path, sources: dict[str, Path]) -> set[str]:
    """Every file in the manifest holds exactly its parsed articles; no article of an unlisted file."""
    files, rows = _manifest(home)
    assert set(rows) <= set(files), (
        f"articles of files not in the manifest (partial law): {set(rows) - set(files)}"
    )
    for key, n in files.items():
        assert rows.get(key, 0) == n, f"{key}: manifest says {n} articles, {rows.get(key, 0)} stored"
        assert n == _expected_articles(sources[key]), (
            f"{key}: {n} stored, file has {_expected_articles(sources[key])}"
        )
    return set(files)


def test_kill_9_during_import_then_rerun_completes(shared_laws: Path, tmp_path: Path) -> None:
    src = tmp_path / "laws"
    src.mkdir()
    for f in _pick_laws(shared_laws, N_FILES):
        shutil.copy2(f, src / f.name)  # a temp copy: the test never writes near ../shared
    sources = {str(p.resolve()): p for p in src.iterdir()}
    home = tmp_path / "home"
    home.mkdir()

    proc = subprocess.Popen(
        _cli(home, "kb", "import", str(src)),
        env=_env(),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None and _files_landed(home) < 1:
            time.sleep(0.05)
        assert proc.poll() is None, f"import ended before the kill: {proc.stderr.read().decode()[-2000:]}"
        assert _files_landed(home) >= 1, "no file landed within the time limit"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    landed = _assert_complete(home, sources)
    assert 1 <= len(landed) < N_FILES, f"{len(landed)} of {N_FILES} files landed before the kill"

    # The store opens cleanly after the crash and serves what landed.
    from knowledge.kb import KnowledgeBase

    kb = KnowledgeBase.open(home)
    try:
        some = kb.manifest.query("SELECT law, article_no FROM articles WHERE article_no IS NOT NULL LIMIT 1")[
            0
        ]
        assert kb.lookup(some["law"], some["article_no"]) is not None
        assert kb.retrieve(some["law"], k=3)
    finally:
        kb.close()

    rerun = subprocess.run(
        _cli(home, "kb", "import", str(src)),
        env=_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    final = _assert_complete(home, sources)
    assert final == set(sources), f"missing after re-run: {set(sources) - final}"
    # What landed before the kill was recognised as unchanged, not re-imported.
    assert f"skipped (unchanged) {len(landed)}" in " ".join(rerun.stdout.split()), rerun.stdout[-1500:]
