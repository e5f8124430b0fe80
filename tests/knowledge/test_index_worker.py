"""The index worker (knowledge/worker.py): while questions are served, an import's parsing, tokenising and
embedding and every snapshot build run in a child process; the serving process keeps the manifest and the
Chroma writes. Real child processes, real Chroma, real SQLite."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from knowledge import worker
from knowledge.embedder import StaticJiebaEmbedder, StaticVectors
from knowledge.kb import KnowledgeBase
from knowledge.worker import ChildWork
from tests.knowledge.conftest import LABOUR_V2, tiny_config

PARENT = os.getpid()


def _pid() -> int:
    return os.getpid()


def _dies_in_child(parent: int) -> str:
    """Kills the child it runs in (a crash); returns normally in the parent."""
    if os.getpid() != parent:
        os._exit(3)
    return "computed in the parent"


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


@pytest.fixture
def served(yiju_home: Path, laws_dir: Path) -> KnowledgeBase:
    """A KB with both test laws, answering questions (a snapshot in service): changes now use a child."""
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    assert not kb.child_work().isolated  # nothing served yet: the first import works in this process
    kb.import_path(laws_dir, progress=False)
    assert kb.retrieve("劳动报酬", k=3)
    assert kb.child_work().isolated
    yield kb
    kb.close()


def _spy_children(monkeypatch: pytest.MonkeyPatch) -> list[ChildWork]:
    made: list[ChildWork] = []
    real = KnowledgeBase.child_work

    def spy(self: KnowledgeBase) -> ChildWork:
        work = real(self)
        made.append(work)
        return work

    monkeypatch.setattr(KnowledgeBase, "child_work", spy)
    return made


def test_numpy_vectors_match_the_torch_embedder(served: KnowledgeBase) -> None:
    torch_emb = served.embedder()
    assert isinstance(torch_emb, StaticJiebaEmbedder)
    numpy_emb = StaticVectors(served.embedder_dir)
    assert numpy_emb.name == torch_emb.name and numpy_emb.dim == torch_emb.dim
    rows = served.manifest.query("SELECT text, tokens FROM articles ORDER BY id")
    texts, toks = [r["text"] for r in rows], [r["tokens"].split() for r in rows]
    np.testing.assert_allclose(
        numpy_emb.embed_documents(texts, toks), torch_emb.embed_documents(texts, toks), atol=1e-5
    )


def test_import_while_serving_runs_in_a_child_and_keeps_chroma_consistent(
    served: KnowledgeBase, laws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    children = _spy_children(monkeypatch)
    (laws_dir / "测试劳动法(2020-06-30).md").write_text(LABOUR_V2, encoding="utf-8")
    report = served.import_path(laws_dir, progress=False)
    assert report.errors == [] and report.files_imported == 1 and report.articles_added >= 3
    work = children[0]
    assert work.isolated and not work.broken and work.pid not in (None, PARENT)
    assert _gone(work.pid)  # the child was stopped when the import returned
    # the new version is served at once, from the snapshot the child built (vectors included)
    hit = served.retrieve("经济补偿 每满一年", law="测试劳动法", k=1)[0]
    assert hit.version == "2020-06-30"
    snap = served._snapshot
    emb = served.embedder()
    assert snap.kb_version == served.kb_version and emb.name in snap.vectors
    # the parent wrote every vector: the store holds exactly the manifest's articles, with the same vectors
    store = served._store_obj()
    ids = [r["id"] for r in served.manifest.query("SELECT id FROM articles ORDER BY id")]
    assert store.count(emb.name) == len(ids) == len(snap.ids)
    stored = store.vectors(emb.name, ids)
    np.testing.assert_allclose(np.stack([stored[i] for i in ids]), snap.vectors[emb.name], atol=1e-5)


def test_bad_file_while_serving_names_file_and_line_and_loses_nothing(
    served: KnowledgeBase, laws_dir: Path
) -> None:
    before = served.stats()["articles"]
    (laws_dir / "bad.jsonl").write_text('{"title": "指南", "text": "甲"}\nnot json\n', encoding="utf-8")
    strict = served.import_path(laws_dir, strict=True, progress=False)
    assert [(Path(e.file).name, e.line) for e in strict.errors] == [("bad.jsonl", 2)]
    report = served.import_path(laws_dir, progress=False)
    assert [(Path(e.file).name, e.line) for e in report.errors] == [("bad.jsonl", 2)]
    assert served.stats()["articles"] == before
    assert served.lookup("测试劳动法", 1) is not None


def test_removal_rebuild_runs_in_a_child_and_the_law_never_returns(
    served: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    children = _spy_children(monkeypatch)
    assert any(p.law == "测试医疗纠纷处理条例" for p in served.retrieve("患者 病历 查阅", k=5))
    old = served._snapshot
    assert served.remove("测试医疗纠纷处理条例") == 2
    assert all(p.law != "测试医疗纠纷处理条例" for p in served.retrieve("患者 病历 查阅", k=5))
    assert served.serving.wait_idle(120)
    work = children[-1]
    assert work.isolated and work.pid not in (None, PARENT) and _gone(work.pid)
    assert served._snapshot is not old and served._snapshot.kb_version == served.kb_version
    assert not any(i.startswith("测试医疗纠纷处理条例@") for i in served._snapshot.ids)
    assert served.serving.removed() == frozenset()
    assert all(p.law != "测试医疗纠纷处理条例" for p in served.retrieve("患者 病历 查阅", k=5))


def test_a_child_that_dies_costs_speed_not_the_result() -> None:
    with ChildWork() as work:
        assert work.call(_pid) not in (None, PARENT)
        assert work.call(_dies_in_child, PARENT) == "computed in the parent"
        assert work.broken and work.call(_pid) == PARENT  # from now on this process does the work
    with ChildWork(isolated=False) as here:
        assert here.call(_pid) == PARENT and here.pid is None


def test_build_in_child_refuses_a_manifest_that_moved_on(served: KnowledgeBase) -> None:
    with pytest.raises(worker.StaleVersion):
        worker.build_snapshot(served.home, served.config, "not-the-version")
