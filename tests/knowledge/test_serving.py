"""Knowledge changes never stall questions: the old snapshot answers while a new one is built, then is swapped;
a removed law is never returned after remove() returned. Real Chroma, real SQLite; a slow build is made by
wrapping the real build function with a delay."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from knowledge import retrieval
from knowledge.kb import KnowledgeBase
from tests.knowledge.conftest import LABOUR_V2, tiny_config

SLOW_BUILD_S = 1.5


@pytest.fixture
def slow_builds(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Every snapshot build after the first takes SLOW_BUILD_S longer; the event is set while one runs."""
    real = retrieval.build_snapshot
    building = threading.Event()
    calls = {"n": 0}

    def slow(kb, version):
        calls["n"] += 1
        if calls["n"] > 1:
            building.set()
            time.sleep(SLOW_BUILD_S)
        try:
            return real(kb, version)
        finally:
            building.clear()

    monkeypatch.setattr(retrieval, "build_snapshot", slow)
    return building


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def test_removed_law_is_filtered_at_once_and_rebuild_runs_in_background(
    yiju_home: Path, laws_dir: Path, slow_builds: threading.Event
) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config(index_worker="thread"))  # the slowed build runs here
    kb.import_path(laws_dir, progress=False)  # first build: not slowed
    old = kb._snapshot
    assert any(p.law == "测试医疗纠纷处理条例" for p in kb.retrieve("患者 病历 查阅", k=5))
    seconds, n = _timed(lambda: kb.remove("测试医疗纠纷处理条例"))
    assert n == 2 and seconds < SLOW_BUILD_S  # remove() does not wait for the index
    assert slow_builds.wait(5)  # the rebuild is running in the background …
    seconds, hits = _timed(lambda: kb.retrieve("患者 病历 查阅 诊疗", k=5))
    assert seconds < SLOW_BUILD_S / 2 and kb._snapshot is old  # … while the old snapshot answers at once
    assert hits and all(p.law != "测试医疗纠纷处理条例" for p in hits)  # and never with the removed law
    assert kb.lookup("测试医疗纠纷处理条例", 1) is None
    assert kb.serving.wait_idle(30)
    assert kb._snapshot is not old and "测试医疗纠纷处理条例@2018-07-31#1" not in kb._snapshot.pos
    assert kb.serving.removed() == frozenset()  # the new snapshot lacks them: nothing left to filter
    kb.close()


def test_questions_are_answered_during_an_import(
    yiju_home: Path, laws_dir: Path, slow_builds: threading.Event
) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config(index_worker="thread"))
    kb.import_path(laws_dir, progress=False)
    kb.retrieve("劳动报酬", k=3)
    (laws_dir / "测试劳动法(2020-06-30).md").write_text(LABOUR_V2, encoding="utf-8")
    done = threading.Event()
    worker = threading.Thread(target=lambda: (kb.import_path(laws_dir, progress=False), done.set()))
    worker.start()
    assert slow_builds.wait(20)  # the import is building its new snapshot
    seconds, hits = _timed(lambda: kb.retrieve("经济补偿 每满一年", k=3))
    assert seconds < SLOW_BUILD_S / 2 and not done.is_set() and hits
    worker.join(60)
    assert done.is_set()
    # once the import returned, its new version is served
    assert kb.retrieve("经济补偿 每满一年", law="测试劳动法", k=1)[0].version == "2020-06-30"
    kb.close()


def test_removed_then_reimported_law_is_served_again(yiju_home: Path, laws_dir: Path) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    kb.import_path(laws_dir, progress=False)
    kb.remove("测试劳动法")
    assert not [p for p in kb.retrieve("劳动报酬 支付令", k=5) if p.law == "测试劳动法"]
    kb.import_path(laws_dir, progress=False)  # importing the files again restores what was removed
    assert [p for p in kb.retrieve("劳动报酬 支付令", k=5) if p.law == "测试劳动法"]
    kb.close()
