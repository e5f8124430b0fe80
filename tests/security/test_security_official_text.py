"""Issue 14 finding 1 (HIGH): official statute text cannot be forged through a curator upload; provenance.

Each test reproduces one reported break: a curator key replaced 劳动合同法第四十七条 (`articles_updated: 1`) and answers
cited the fake text as official, with no uploader recorded; a version dated 2099 hid every official article;
`yiju kb import` of the official file said "skipped (unchanged)" and kept the forged text.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from knowledge.kb import KnowledgeBase
from tests.knowledge.conftest import LABOUR_V1, tiny_config

FAKE = "经济补偿一律不超过一千元，用人单位可以自行决定是否支付。"
OFFICIAL_47_START = "经济补偿按劳动者在本单位工作的年限"


def _forged_labour_law(date: str, article: str = FAKE) -> bytes:
    return (
        "# 中华人民共和国劳动合同法\n\n2012年12月28日 修正\n\n<!-- INFO END -->\n\n## 第五章 特别规定\n\n"
        f"第四十七条 {article}\n"
    ).encode()


def test_upload_cannot_change_an_official_article(sec_server: Any) -> None:
    with sec_server.client("curator") as c:
        r = c.post(
            "/v1/kb/import",
            files=[
                ("files", ("劳动合同法(2012-12-28).md", _forged_labour_law("2012-12-28"), "text/markdown"))
            ],
        )
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["articles_updated"] == 0 and report["files_imported"] == 0, report
        (error,) = report["errors"]
        assert error["file"] == "劳动合同法(2012-12-28).md" and error["line"] == 9
        assert "第四十七条" in error["message"] and "official text" in error["message"]
        article = c.get("/v1/kb/laws/劳动合同法/articles/47").json()
    assert article["text"].startswith(OFFICIAL_47_START) and article["origin"] == "official"
    with sec_server.client("clinic") as c:
        body = c.post(
            "/v1/ask", json={"question": "劳动合同法第四十七条规定了什么？", "domain": "legal"}
        ).json()
    assert FAKE not in str(body)


def test_future_dated_upload_does_not_hide_official_articles(sec_server: Any) -> None:
    name = "劳动合同法(2099-01-01).md"
    with sec_server.client("curator") as c:
        r = c.post(
            "/v1/kb/import", files=[("files", (name, _forged_labour_law("2099-01-01"), "text/markdown"))]
        )
        assert r.status_code == 200 and r.json()["articles_added"] == 1, r.text
        try:
            assert c.get("/v1/kb/laws/劳动合同法/articles/47").json()["text"].startswith(OFFICIAL_47_START)
            hits = c.get("/v1/kb/search", params={"q": "经济补偿 工作年限", "law": "劳动合同法"}).json()
            assert hits and all(h["origin"] == "official" and FAKE not in h["text"] for h in hits)
            (law,) = [x for x in c.get("/v1/kb/laws", params={"q": "《劳动合同法》"}).json()]
            status = {d["version"]: (d["status"], d["origin"]) for d in law["details"]}
            assert status["2099-01-01"] == ("future", "local") and status["2012-12-28"][0] == "current"
            # the kept local copy is reachable when asked for by version, clearly marked
            local = c.get("/v1/kb/laws/劳动合同法/articles/47", params={"version": "2099-01-01"}).json()
            assert local["origin"] == "local" and local["uploader"] == "sec-curator"
        finally:
            assert c.delete("/v1/kb/laws/劳动合同法", params={"version": "2099-01-01"}).status_code == 200
    with sec_server.client("clinic") as c:
        body = c.post(
            "/v1/ask", json={"question": "劳动合同法第四十七条规定了什么？", "domain": "legal"}
        ).json()
    assert FAKE not in str(body)


def test_upload_records_uploader_time_and_file_hash_and_the_audit_records_origin(sec_server: Any) -> None:
    doc = "# 安全测试来源办法\n\n<!-- INFO END -->\n\n第一条 来源测试用的示例条文，记录上传人。\n".encode()
    with sec_server.client("curator") as c:
        assert c.post("/v1/kb/import", files=[("files", ("安全测试来源办法.md", doc))]).status_code == 200
        try:
            (hit,) = c.get("/v1/kb/search", params={"q": "来源测试 上传人", "law": "安全测试来源办法"}).json()
            assert hit["origin"] == "local" and hit["uploader"] == "sec-curator"
            assert hit["file_hash"] == hashlib.sha256(doc).hexdigest() and hit["imported_at"].endswith("Z")
            assert hit["source"] == "upload/安全测试来源办法.md"  # never a server path
            with sec_server.client("clinic") as asker:
                turn_id = asker.post(
                    "/v1/ask", json={"question": "安全测试来源办法第一条", "domain": "legal"}
                ).json()["turn_id"]
            with sec_server.client("reviewer") as reviewer:
                retrieved = reviewer.get(f"/v1/audit/turns/{turn_id}").json()["retrieved"]
            mine = [r for r in retrieved if r["id"] == hit["id"]]
            assert mine and mine[0]["origin"] == "local" and mine[0]["uploader"] == "sec-curator"
            assert all("origin" in r for r in retrieved)
        finally:
            c.delete("/v1/kb/laws/安全测试来源办法")


def _forge_behind_the_import(home: Path, article_id: str) -> None:
    """What the first release left after a forged upload: the official row's text replaced and owned by a file
    under <home>/uploads (or text edited in kb.sqlite directly)."""
    conn = sqlite3.connect(home / "kb.sqlite")
    conn.execute(
        "UPDATE articles SET text=?, content_hash=?, file=?, origin='local' WHERE id=?",
        (
            FAKE,
            hashlib.sha256(FAKE.encode()).hexdigest(),
            str(home / "uploads" / "x" / "fake.md"),
            article_id,
        ),
    )
    conn.commit()
    conn.close()


def test_reimport_compares_content_and_restores_official_text(yiju_home: Path, tmp_path: Path) -> None:
    laws = tmp_path / "laws" / "社会法"
    laws.mkdir(parents=True)
    (laws / "测试劳动法(2010-01-01).md").write_text(LABOUR_V1, encoding="utf-8")
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    kb.import_path(laws, progress=False)
    kb.close()
    _forge_behind_the_import(yiju_home, "测试劳动法@2010-01-01#11")
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    assert kb.lookup("测试劳动法", 11, version="2010-01-01").text == FAKE  # the forged state
    report = kb.import_path(laws, progress=False)
    assert report.files_skipped == 0 and report.articles_updated == 1, report
    restored = kb.lookup("测试劳动法", 11)
    assert restored.text.startswith("经济补偿按劳动者在本单位工作的年限") and restored.origin == "official"
    assert FAKE not in {p.text for p in kb.retrieve("经济补偿 工作年限", k=5)}
    assert kb.import_path(laws, progress=False).files_skipped == 1  # and now it is unchanged again
    kb.close()


def test_official_version_dated_in_the_future_is_not_current(yiju_home: Path, tmp_path: Path) -> None:
    laws = tmp_path / "laws" / "社会法"
    laws.mkdir(parents=True)
    (laws / "测试劳动法(2010-01-01).md").write_text(LABOUR_V1, encoding="utf-8")
    (laws / "测试劳动法(2099-01-01).md").write_text(
        "# 中华人民共和国测试劳动法\n\n<!-- INFO END -->\n\n第一条 将来才施行的文本。\n", encoding="utf-8"
    )
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    kb.import_path(laws, progress=False)
    assert kb.lookup("测试劳动法", 1).version == "2010-01-01"
    assert {p.version for p in kb.retrieve("劳动者 合法权益", law="测试劳动法", k=5)} == {"2010-01-01"}
    assert kb.lookup("测试劳动法", 1, as_of="2100-01-01").version == "2099-01-01"
    (info,) = kb.laws(query="测试劳动法")
    assert info.current_version == "2010-01-01"
    assert {d.version: d.status for d in info.details} == {"2099-01-01": "future", "2010-01-01": "current"}
    kb.close()
