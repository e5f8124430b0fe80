"""The passage data model: kind, guideline sections, effective dates, several domains per law, provenance;
named migrations that upgrade a knowledge base made by the first release. Real SQLite, real Chroma."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from knowledge.errors import KnowledgeError, UnknownLaw
from knowledge.kb import KnowledgeBase
from knowledge.migrations import m001_initial
from knowledge.types import Passage, article_no_of_key, parse_passage_id
from tests.knowledge.conftest import LABOUR_V1, MEDICAL, tiny_config

HEALTH = """# 中华人民共和国测试药品管理法

2019年8月26日 第十三届全国人民代表大会常务委员会第十二次会议修订

<!-- INFO END -->

## 第一章 总则

第一条 为了加强药品管理，保证药品质量，保障公众用药安全和合法权益，制定本法。

第八十一条 药品上市许可持有人应当开展药品上市后不良反应监测，按照规定向药品监督管理部门报告疑似药品不良反应。
"""

GUIDE_ROWS = [
    {
        "title": "测试流感诊疗方案（2025年版）",
        "text": "流感病毒感染后潜伏期一般为1～4天。",
        "section": "三、临床表现 > （一）潜伏期",
        "sections": ["三、临床表现 > （一）潜伏期"],
        "source": "国家卫生健康委员会 https://www.nhc.gov.cn/example",
        "domain": "medical",
    },
    {
        "title": "测试流感诊疗方案（2025年版）",
        "text": "发病48小时内进行抗病毒治疗可减少并发症。",
        "section": "六、治疗 > （二）抗病毒治疗",
        "sections": ["六、治疗 > （二）抗病毒治疗", "六、治疗 > （三）对症治疗"],
        "source": "国家卫生健康委员会 https://www.nhc.gov.cn/example",
        "domain": "medical",
    },
    {
        "title": "测试狂犬病处置规范（2023年版）",
        "text": "第十条 暴露后应当立即处置伤口。",
        "article_no": 10,
        "effective_date": "2023-09-13",
        "section": "第二章 处置",
        "sections": ["第二章 处置"],
        "domain": "medical",
    },
]


def _corpus(root: Path) -> Path:
    """A miniature of ../shared/corpus: statutes in kind folders and a guideline JSONL."""
    (root / "社会法").mkdir(parents=True)
    (root / "社会法" / "测试劳动法(2010-01-01).md").write_text(LABOUR_V1, encoding="utf-8")
    (root / "行政法规").mkdir()
    (root / "行政法规" / "测试医疗纠纷处理条例(2018-07-31).md").write_text(MEDICAL, encoding="utf-8")
    (root / "行政法").mkdir()
    (root / "行政法" / "测试药品管理法(2019-08-26).md").write_text(HEALTH, encoding="utf-8")
    (root / "medical").mkdir()
    (root / "medical" / "guides.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in GUIDE_ROWS) + "\n", encoding="utf-8"
    )
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return _corpus(tmp_path / "corpus")


def test_kind_section_effective_date_and_source_are_stored(yiju_home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    report = kb.import_path(corpus, progress=False)
    assert report.errors == []
    labour = kb.lookup("测试劳动法", 3)
    assert labour.kind == "法律" and labour.effective_date == "2010-01-01" and labour.section == ""
    assert kb.lookup("测试医疗纠纷处理条例", 2).kind == "行政法规"
    assert labour.origin == "official" and len(labour.file_hash) == 64 and labour.imported_at.endswith("Z")
    guide = [p for p in kb.retrieve("抗病毒治疗 48小时", k=5) if p.law.startswith("测试流感")][0]
    assert guide.kind == "指南" and guide.section == "六、治疗 > （二）抗病毒治疗"
    assert guide.sections == ["六、治疗 > （二）抗病毒治疗", "六、治疗 > （三）对症治疗"]
    assert guide.citation == "《测试流感诊疗方案（2025年版）》六、治疗 > （二）抗病毒治疗"
    assert guide.source_info.startswith("国家卫生健康委员会")
    assert guide.id == "测试流感诊疗方案（2025年版）@undated#p2"  # keys stay as before (p1, p2 …)
    rabies = kb.lookup("测试狂犬病处置规范（2023年版）", 10)
    assert (
        rabies.kind == "指南" and rabies.effective_date == "2023-09-13" and rabies.citation.endswith("第十条")
    )
    kb.close()


def test_health_statute_imported_as_legal_still_serves_medical(yiju_home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    kb.import_path(corpus / "行政法", domain="legal", progress=False)
    p = kb.lookup("测试药品管理法", 81)
    assert p.domain == "legal" and p.domains == ["legal", "medical"]
    hits = kb.retrieve("药品不良反应报告", domain="medical", k=3)
    assert hits and hits[0].id == p.id
    # the dense filter of the vector store sees both domains too
    emb = kb.embedder()
    where = {"domains": {"$contains": "medical"}}
    found = kb._store_obj().query(emb.name, emb.embed_query("药品不良反应"), 5, where)
    assert p.id in {i for i, _ in found}
    kb.close()


def test_reimport_with_other_domain_is_not_skipped(yiju_home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    kb.import_path(corpus / "社会法", domain="medical", progress=False)
    assert kb.lookup("测试劳动法", 1).domains == ["medical", "legal"]
    again = kb.import_path(corpus / "社会法", domain="auto", progress=False)
    assert again.files_skipped == 0 and again.articles_updated == 4
    assert kb.lookup("测试劳动法", 1).domains == ["legal"]
    assert kb.import_path(corpus / "社会法", domain="auto", progress=False).files_skipped == 1
    kb.close()


def test_curator_changes_domains_without_reimport(yiju_home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    kb.import_path(corpus, progress=False)

    def labour_in_medical() -> list[Passage]:
        return [p for p in kb.retrieve("劳动报酬 支付令", domain="medical", k=3) if p.law == "测试劳动法"]

    assert not labour_in_medical()
    before = kb.kb_version
    assert kb.set_domains("《中华人民共和国测试劳动法》", "legal,medical", by="alice") == ["legal", "medical"]
    assert kb.kb_version != before  # questions see the change at once
    hits = labour_in_medical()
    assert hits and hits[0].domains == ["legal", "medical"]
    assert [x.domains for x in kb.laws("medical") if x.law == "测试劳动法"] == [["legal", "medical"]]
    # the choice holds for a new version imported later, and for a re-import with --domain
    v2 = corpus / "社会法" / "测试劳动法(2020-06-30).md"
    v2.write_text(LABOUR_V1.replace("制定本法。", "特制定本法。"), encoding="utf-8")
    kb.import_path(corpus / "社会法", domain="legal", progress=False)
    assert kb.lookup("测试劳动法", 1, version="2020-06-30").domains == ["legal", "medical"]
    assert kb.set_domains("测试劳动法", None) == ["legal"]
    assert not labour_in_medical()
    with pytest.raises(UnknownLaw):
        kb.set_domains("没有这部法", "legal")
    with pytest.raises(KnowledgeError, match="invalid domain"):
        kb.set_domains("测试劳动法", "Legal;drop")
    kb.close()


def test_passage_ids_parse_with_the_helper() -> None:
    assert parse_passage_id("刑法@2020-12-26#120-1") == ("刑法", "2020-12-26", "120-1")
    assert parse_passage_id("测试流感诊疗方案（2025年版）@undated#p17")[2] == "p17"
    assert article_no_of_key("120-1") == 120 and article_no_of_key("p17") is None
    with pytest.raises(ValueError, match="not a passage id"):
        parse_passage_id("劳动合同法第四十七条")
    old = Passage(id="a@b#1", domain="legal", law="劳动合同法", text="x", article_no=1)
    assert old.domains == ["legal"] and old.origin == "official" and old.citation == "《劳动合同法》第1条"


def _downgrade_to_first_release(home: Path) -> None:
    """Rewrite kb.sqlite as the first release stored it (its schema, no migrations table) and put the vectors'
    metadata back to what it was then (no `domains`)."""
    db = home / "kb.sqlite"
    new = sqlite3.connect(db)
    articles = new.execute(
        "SELECT id, file, domain, law, law_full, version, article_no, article_label, akey, chapter, text,"
        " content_hash, tokens, seq, sample, summary FROM articles"
    ).fetchall()
    files = new.execute("SELECT path, file_hash, fmt, domain, n_articles, imported_at FROM files").fetchall()
    meta = new.execute("SELECT key, value FROM meta").fetchall()
    new.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    old = sqlite3.connect(db, isolation_level=None)
    m001_initial(old, home)
    old.executemany(f"INSERT INTO articles VALUES ({','.join('?' * 16)})", articles)
    old.executemany("INSERT INTO files VALUES (?,?,?,?,?,?)", files)
    old.executemany("INSERT INTO meta VALUES (?,?)", meta)
    old.close()


def test_first_release_kb_opens_upgrades_and_keeps_working(yiju_home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    kb.import_path(corpus / "行政法", domain="legal", progress=False)  # a health statute tagged legal
    kb.import_path(corpus / "medical", progress=False)
    emb = kb.embedder()
    store = kb._store_obj()
    ids = [r["id"] for r in kb.manifest.query("SELECT id FROM articles")]
    vectors = store.vectors(emb.name, ids)
    rows = {
        r["id"]: r for r in kb.manifest.query("SELECT id, domain, law, version, article_no FROM articles")
    }
    old_meta = [
        {
            "domain": rows[i]["domain"],
            "law": rows[i]["law"],
            "version": rows[i]["version"],
            "article_no": rows[i]["article_no"] if rows[i]["article_no"] is not None else -1,
        }
        for i in ids
    ]
    store.upsert(emb.name, ids, __import__("numpy").stack([vectors[i] for i in ids]), old_meta)
    kb.close()
    _downgrade_to_first_release(yiju_home)

    kb = KnowledgeBase.open(yiju_home, tiny_config())
    assert kb.manifest.migrations_applied == ["m002_passage_metadata"]
    p = kb.lookup("测试药品管理法", 81)
    assert p.kind == "法律" and p.domains == ["legal", "medical"] and p.effective_date == "2019-08-26"
    assert kb.retrieve("药品不良反应报告", domain="medical", k=1)[0].id == p.id
    emb = kb.embedder()
    found = kb._store_obj().query(
        emb.name, emb.embed_query("药品"), 10, {"domains": {"$contains": "medical"}}
    )
    assert p.id in {i for i, _ in found}
    guide = kb.retrieve("抗病毒治疗", domain="medical", k=1)[0]
    assert guide.kind == "指南" and guide.citation.startswith("《测试流感诊疗方案（2025年版）》")
    # the next import reads each file once to check its stored content, then skips it as before
    first = kb.import_path(corpus / "medical", progress=False)
    assert first.files_skipped == 0 and first.articles_added == 0 and first.errors == []
    assert guide.id in {r["id"] for r in kb.manifest.query("SELECT id FROM articles")}
    again = kb.import_path(corpus / "medical", progress=False)
    assert again.files_skipped == 1
    kb.close()
    reopened = KnowledgeBase.open(yiju_home, tiny_config())
    assert reopened.manifest.migrations_applied == []  # each migration runs once
    reopened.close()
