"""The knowledge manifest behaves the same on SQLite (kb.sqlite, the default) and on a shared PostgreSQL database
(issue 16 item 2): every test runs once per backend; the sharing tests open two knowledge bases ("replicas",
each with its own data directory) on one PostgreSQL database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from knowledge import manifest as manifest_module
from knowledge import shared_embedder
from knowledge.kb import KnowledgeBase
from knowledge.migrations import MIGRATIONS_TABLE, kb_migrations
from tests.knowledge.conftest import LABOUR_V1, MEDICAL, tiny_config

EXTRA = """# 测试副本法

2026年1月1日 第一次会议通过

<!-- INFO END -->

第一条 为了验证副本之间共享知识库，制定本法。

第二条 在一个副本导入的法律，其他副本无需重启即可检索和引用。
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """'' (kb.sqlite in the data directory) or the URL of a fresh PostgreSQL database."""
    return "" if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "laws"
    d.mkdir()
    (d / "测试劳动法(2010-01-01).md").write_text(LABOUR_V1, encoding="utf-8")
    (d / "测试医疗纠纷处理条例.md").write_text(MEDICAL, encoding="utf-8")
    return d


def _open(home: Path, database: str, **extra) -> KnowledgeBase:
    return KnowledgeBase.open(home, tiny_config(**extra), database=database or None)


def test_import_lookup_list_remove_round_trip(tmp_path: Path, corpus: Path, database: str) -> None:
    kb = _open(tmp_path / "home", database)
    try:
        assert kb.manifest.dialect == ("postgresql" if database else "sqlite")
        report = kb.import_path(corpus, progress=False)
        assert report.articles_added > 0 and not report.errors
        p = kb.lookup("测试劳动法", 2)
        assert p is not None and "劳动报酬" in p.text and p.version == "2010-01-01"
        assert p.origin == "official" and p.domains == ["legal"]
        assert kb.retrieve("按时足额支付劳动报酬", k=1)[0].id == p.id
        laws = {info.law: info for info in kb.laws()}
        assert set(laws) == {"测试劳动法", "测试医疗纠纷处理条例"}
        before = kb.kb_version
        again = kb.import_path(corpus, progress=False)  # unchanged: skipped by hash
        assert again.articles_added == 0 and again.articles_updated == 0 and kb.kb_version == before
        kb.set_domains("测试劳动法", "legal,medical")
        assert kb.lookup("测试劳动法", 2).domains == ["legal", "medical"] and kb.kb_version != before
        assert kb.remove("测试医疗纠纷处理条例") == 2
        assert kb.lookup("测试医疗纠纷处理条例", 1) is None
        assert kb.stats()["laws"] == 1
        assert kb.import_path(corpus, progress=False).articles_added == 2  # re-import restores it
    finally:
        kb.close()


def test_same_content_same_kb_version_on_both_backends(tmp_path: Path, corpus: Path, pg_url: str) -> None:
    """The version hash runs over rows ORDER BY id: PostgreSQL's "C" collation keys sort exactly as SQLite's."""
    versions, orders = [], []
    for name, database in (("lite", ""), ("pg", pg_url)):
        kb = _open(tmp_path / name, database)
        try:
            kb.import_path(corpus, progress=False)
            versions.append(kb.kb_version)
            orders.append([r["id"] for r in kb.manifest.query("SELECT id FROM articles ORDER BY id")])
        finally:
            kb.close()
    assert versions[0] == versions[1] != "empty"
    assert orders[0] == orders[1] == sorted(orders[0])


def test_migrations_are_named_and_applied_once(tmp_path: Path, database: str) -> None:
    first = _open(tmp_path / "a", database)
    try:
        names = [m.name for m in kb_migrations(tmp_path)]
        table = MIGRATIONS_TABLE[first.manifest.dialect]
        assert [n for n, _ in first.manifest.db.applied_migrations(table)] == names
        assert {"kind", "sections", "origin", "family"} <= first.manifest.columns("articles")
        second = _open(tmp_path / "b" if database else tmp_path / "a", database)
        try:
            assert second.manifest.migrations_applied == []  # the same database: nothing left to apply
        finally:
            second.close()
    finally:
        first.close()


def test_an_import_on_one_replica_is_served_by_the_other(
    tmp_path: Path, corpus: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two data directories, one PostgreSQL manifest, one Chroma folder: B sees A's import without reopening —
    look-up at once, the BM25 view after the shared kb_version moved (cached for SHARED_META_TTL_S), the
    embedder A trained fetched from the database."""
    monkeypatch.setattr(manifest_module, "SHARED_META_TTL_S", 0.2)
    store = {"store": {"kind": "chroma_local", "path": str(tmp_path / "chroma")}}
    a = _open(tmp_path / "a", pg_url, **store)
    b = _open(tmp_path / "b", pg_url, **store)
    try:
        a.import_path(corpus, progress=False)
        name = a.embedder().name
        assert shared_embedder.shared_name(a.manifest) == name
        assert b.lookup("测试劳动法", 2) is not None
        assert b.embedder() is not None and b.embedder().name == name  # fetched into b's data directory
        assert (tmp_path / "b" / "embedder" / "yiju_embedder.json").read_bytes() == (
            tmp_path / "a" / "embedder" / "yiju_embedder.json"
        ).read_bytes()
        assert b.retrieve("按时足额支付劳动报酬", k=1)[0].law == "测试劳动法"
        served = b.kb_version

        extra = tmp_path / "extra"
        extra.mkdir()
        (extra / "测试副本法(2026-01-01).md").write_text(EXTRA, encoding="utf-8")
        a.import_path(extra, progress=False)
        assert b.lookup("测试副本法", 2) is not None  # the manifest is shared: at once
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            hits = b.retrieve("副本之间共享知识库", k=3)
            if hits and hits[0].law == "测试副本法":
                break
            time.sleep(0.2)  # B's BM25 view is rebuilt in the background once it notices the new version
        assert hits and hits[0].law == "测试副本法", [h.id for h in hits]
        assert b.kb_version == a.kb_version != served

        b.serving.wait_idle(30)
        assert b.serving.serving.kb_version == a.kb_version
        monkeypatch.setattr(b.serving, "schedule", lambda: None)  # B's snapshot stays behind from here on
        assert a.remove("测试副本法") == 2
        time.sleep(
            0.3
        )  # > SHARED_META_TTL_S: B has noticed the new kb_version, its snapshot still has the law
        assert b.serving.serving.kb_version != b.kb_version
        hits = b.retrieve("副本之间共享知识库", k=5)
        assert hits and not any(h.law == "测试副本法" for h in hits), [h.id for h in hits]
    finally:
        a.close()
        b.close()


def test_a_retrained_embedder_replaces_the_shared_one(tmp_path: Path, corpus: Path, pg_url: str) -> None:
    """When the shared manifest names another embedder (a replica retrained it), B switches on its next use and
    the database keeps only the files of the one in use."""
    store = {"store": {"kind": "chroma_local", "path": str(tmp_path / "chroma")}}
    a = _open(tmp_path / "a", pg_url, **store)
    b = _open(tmp_path / "b", pg_url, **store)
    other = _open(tmp_path / "other", "")  # an embedder trained on other text (its own kb.sqlite)
    try:
        a.import_path(corpus, progress=False)
        first = b.embedder().name
        extra = tmp_path / "extra"
        extra.mkdir()
        (extra / "测试副本法(2026-01-01).md").write_text(EXTRA, encoding="utf-8")
        other.import_path(extra, progress=False)
        second = other.embedder().name
        assert second != first
        shared_embedder.publish(a.manifest, other.embedder_dir, second)  # what a retraining import does
        b.manifest.fresh_meta(shared_embedder.EMBEDDER_META)
        assert b.embedder().name == second
        assert shared_embedder.local_name(tmp_path / "b" / "embedder") == second
        rows = a.manifest.query("SELECT DISTINCT name FROM embedder_files")
        assert [r["name"] for r in rows] == [second]  # the old one is gone
        shared_embedder.publish(other.manifest, other.embedder_dir, second)  # SQLite: nothing to share
        assert shared_embedder.shared_name(other.manifest) == ""
    finally:
        a.close()
        b.close()
        other.close()
