"""KnowledgeBase against a real embedded Chroma store and a real SQLite manifest."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from knowledge.ingest import Importer
from knowledge.kb import KnowledgeBase
from tests.knowledge.conftest import LABOUR_V2, tiny_config


@pytest.fixture
def kb(yiju_home: Path, laws_dir: Path) -> KnowledgeBase:
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    report = kb.import_path(laws_dir, progress=False)
    assert report.errors == []
    yield kb
    kb.close()


def test_import_counts_domains_and_vectors(kb: KnowledgeBase) -> None:
    stats = kb.stats()
    assert stats["articles"] == 6 and stats["laws"] == 2
    assert stats["by_domain"] == {"legal": 4, "medical": 2}
    emb = kb.embedder()
    assert emb is not None and stats["embedder"] == emb.name
    assert kb._store_obj().count(emb.name) == 6
    assert (kb.home / "embedder" / "yiju_embedder.json").exists()


def test_reimport_unchanged_is_skipped_and_version_stable(kb: KnowledgeBase, laws_dir: Path) -> None:
    before = kb.kb_version
    report = kb.import_path(laws_dir, progress=False)
    assert report.files_skipped == 2 and report.files_imported == 0
    assert report.articles_unchanged == 6 and report.articles_added == 0
    assert kb.kb_version == before


def test_changed_file_updates_only_changed_articles(kb: KnowledgeBase, laws_dir: Path) -> None:
    before = kb.kb_version
    f = laws_dir / "测试劳动法(2010-01-01).md"
    f.write_text(f.read_text(encoding="utf-8").replace("制定本法。", "特制定本法。"), encoding="utf-8")
    report = kb.import_path(f, progress=False)
    assert (report.articles_updated, report.articles_unchanged, report.articles_added) == (1, 3, 0)
    assert kb.kb_version != before
    assert kb.lookup("测试劳动法", 1).text == "为了保护劳动者的合法权益，特制定本法。"


def test_versions_newest_by_default_old_one_by_date(kb: KnowledgeBase, laws_dir: Path) -> None:
    (laws_dir / "测试劳动法(2020-06-30).md").write_text(LABOUR_V2, encoding="utf-8")
    kb.import_path(laws_dir, progress=False)
    assert kb.laws("legal")[0].versions == ["2010-01-01", "2020-06-30"]
    assert "一个半月" in kb.lookup("测试劳动法", 11).text
    assert "一个半月" not in kb.lookup("测试劳动法", 11, as_of="2015-01-01").text
    assert kb.lookup("测试劳动法", 11, version="2010-01-01").version == "2010-01-01"
    hits = kb.retrieve("经济补偿 工作年限", k=3)
    assert all(p.version != "2010-01-01" for p in hits if p.law == "测试劳动法")
    old = kb.retrieve("经济补偿 工作年限", k=3, as_of="2015-01-01")
    assert old[0].version == "2010-01-01" and old[0].article_no == 11
    every = kb.retrieve("经济补偿 工作年限 工资", k=6, all_versions=True)
    assert {p.version for p in every if p.article_no == 11} == {"2010-01-01", "2020-06-30"}


def test_exact_reference_comes_first(kb: KnowledgeBase) -> None:
    for q in (
        "测试劳动法第十一条",
        "社会法测试劳动法第十一条的内容是什么？",
        "《中华人民共和国测试劳动法》第11条",
    ):
        hits = kb.retrieve(q, k=3)
        assert (hits[0].law, hits[0].article_no) == ("测试劳动法", 11), q
    assert kb.parse_reference("测试劳动法第九十九条") == ("测试劳动法", 99)
    assert kb.lookup("测试劳动法", 99) is None


def test_retrieve_filters_and_langchain(kb: KnowledgeBase) -> None:
    hits = kb.retrieve("患者 查阅 病历", k=2, domain="medical")
    assert hits and all(p.domain == "medical" for p in hits)
    assert hits[0].article_no == 2 and hits[0].citation == "《测试医疗纠纷处理条例》第二条"
    assert all(p.law == "测试劳动法" for p in kb.retrieve("劳动者", law="测试劳动法", k=5))
    docs = kb.as_langchain_retriever(domain="legal", k=2).invoke("拖欠劳动报酬 支付令")
    assert docs[0].metadata["article_no"] == 2 and "支付令" in docs[0].page_content


def test_remove_and_reimport(kb: KnowledgeBase, laws_dir: Path) -> None:
    assert kb.remove("测试医疗纠纷处理条例") == 2
    assert kb.stats()["articles"] == 4 and kb.lookup("测试医疗纠纷处理条例", 1) is None
    assert kb._store_obj().count(kb.embedder().name) == 4
    assert kb.remove("测试医疗纠纷处理条例") == 0
    report = kb.import_path(laws_dir, progress=False)
    assert report.articles_added == 2 and kb.stats()["articles"] == 6


def test_failed_file_write_rolls_back(
    kb: KnowledgeBase, laws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the vectors were written leaves both stores exactly as before that file."""
    emb = kb.embedder()
    store = kb._store_obj()
    before_version = kb.kb_version
    new = laws_dir / "新法(2024-01-01).md"
    new.write_text(
        "# 新法\n\n<!-- INFO END -->\n\n第一条 新的规定。\n\n第二条 另一条规定。\n", encoding="utf-8"
    )
    changed = laws_dir / "测试劳动法(2010-01-01).md"
    changed.write_text(
        changed.read_text(encoding="utf-8").replace("制定本法。", "特制定本法。"), encoding="utf-8"
    )

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Importer, "_commit_file", boom)
    report = kb.import_path(laws_dir, progress=False)
    assert report.files_imported == 0 and len(report.errors) == 2
    assert all("rolled back" in e.message for e in report.errors)
    assert kb.kb_version == before_version and kb.stats()["articles"] == 6
    assert store.count(emb.name) == 6 and not store.existing_ids(emb.name, ["新法@2024-01-01#1"])
    assert kb.lookup("测试劳动法", 1).text == "为了保护劳动者的合法权益，制定本法。"
    monkeypatch.undo()
    report = kb.import_path(laws_dir, progress=False)
    assert report.articles_added == 2 and report.articles_updated == 1 and store.count(emb.name) == 8


def test_bad_files_reported_rest_imported_or_strict_stops(yiju_home: Path, laws_dir: Path) -> None:
    (laws_dir / "bad.jsonl").write_text('{"title": "指南", "text": "甲"}\nnot json\n', encoding="utf-8")
    (laws_dir / "empty.md").write_text("", encoding="utf-8")
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    strict = kb.import_path(laws_dir, strict=True, progress=False)
    assert strict.errors and kb.stats()["articles"] == 0
    report = kb.import_path(laws_dir, progress=False)
    where = {(Path(e.file).name, e.line) for e in report.errors}
    assert ("bad.jsonl", 2) in where and ("empty.md", 1) in where
    assert report.files_imported == 2 and kb.stats()["articles"] == 6


def test_starter_kb_is_marked_sample(yiju_home: Path) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    report = kb.import_starter()
    assert report.errors == [] and report.articles_added >= 15
    p = kb.retrieve("劳动合同法第四十七条", k=1)[0]
    assert p.sample and p.summary and p.citation == "《劳动合同法》第四十七条"
    assert p.text.startswith("经济补偿按劳动者在本单位工作的年限")
    assert {x.domain for x in kb.laws()} == {"legal", "medical"}
    med = kb.retrieve("医生能拒绝抢救危重病人吗", domain="medical", k=3)
    assert med and all(x.domain == "medical" for x in med)


def test_concurrent_retrieval_is_consistent(kb: KnowledgeBase) -> None:
    expected = [p.id for p in kb.retrieve("拖欠劳动报酬", k=3)]
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                results.append([p.id for p in kb.retrieve("拖欠劳动报酬", k=3)])
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 60 and all(r == expected for r in results)


def test_bm25_only_without_embedder(yiju_home: Path, laws_dir: Path) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config(embedder={"kind": "none"}))
    kb.import_path(laws_dir, progress=False)
    assert kb.stats()["embedder"] == "none" and not (yiju_home / "chroma").exists()
    assert kb.retrieve("患者 病历", k=1)[0].article_no == 2


def test_local_sentence_transformers_directory_as_embedder(
    kb: KnowledgeBase, tmp_path: Path, laws_dir: Path
) -> None:
    """Any local sentence-transformers directory works (here: the one the first KB trained and saved)."""
    model_dir = tmp_path / "st-model"
    import shutil

    shutil.copytree(kb.embedder_dir, model_dir)
    other = KnowledgeBase.open(
        tmp_path / "home2", tiny_config(embedder={"kind": "sentence_transformers", "path": str(model_dir)})
    )
    report = other.import_path(laws_dir, progress=False)
    assert report.errors == [] and not report.embedder_trained
    emb = other.embedder()
    assert emb.name.startswith("st-") and other._store_obj().count(emb.name) == 6
    assert other.retrieve("测试劳动法第三条", k=1)[0].article_no == 3
    assert len(other.retrieve("劳动者 解除 劳动合同", k=3)) == 3


def test_missing_model_directory_is_a_clear_error(yiju_home: Path, laws_dir: Path, tmp_path: Path) -> None:
    from knowledge.errors import EmbedderError

    kb = KnowledgeBase.open(
        yiju_home, tiny_config(embedder={"kind": "sentence_transformers", "path": str(tmp_path / "nope")})
    )
    with pytest.raises(EmbedderError, match="nope"):
        kb.import_path(laws_dir, progress=False)
    assert kb.laws() == []  # nothing half-imported


def test_embedder_retrains_and_reembeds_when_corpus_grows(
    yiju_home: Path, laws_dir: Path, tmp_path: Path
) -> None:
    cfg = tiny_config()
    cfg.embedder.retrain_growth = 1.1
    kb = KnowledgeBase.open(yiju_home, cfg)
    kb.import_path(laws_dir, progress=False)
    first = kb.embedder().name
    extra = tmp_path / "新法(2024-01-01).md"
    extra.write_text(
        "# 新法\n\n<!-- INFO END -->\n\n第一条 新的规定。\n\n第二条 另一条规定。\n", encoding="utf-8"
    )
    report = kb.import_path(extra, progress=False)
    assert report.embedder_trained and kb.embedder().name != first
    store = kb._store_obj()
    assert store.count(kb.embedder().name) == 8
    names = [c if isinstance(c, str) else c.name for c in store.client.list_collections()]
    assert names == [store.collection_name(kb.embedder().name)]
