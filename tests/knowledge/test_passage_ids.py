"""Passage ids `law@version#key` are built and parsed in one place (knowledge/types.py), and an article with
a 之一 key (第一百二十条之一 = `120-1`) resolves by id and by reference on every path that names articles:
the knowledge base, the exact-reference retrieval hit, and the reviewer's picks on the release path."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tiny_config

from assistant.release import ReleaseError, pick_passages
from knowledge.kb import KnowledgeBase
from knowledge.types import article_key, article_no_of_key, is_passage_id, parse_passage_id, passage_id

CRIMINAL = """# 中华人民共和国测试刑法

2015年8月29日 第九次修正

<!-- INFO END -->

## 第二章 危害公共安全罪

第一百二十条 组织、领导恐怖活动组织的，处十年以上有期徒刑或者无期徒刑。

第一百二十条之一 资助恐怖活动组织或者实施恐怖活动的个人的，处五年以下有期徒刑。

第一百二十一条 以暴力、胁迫或者其他方法劫持航空器的，处十年以上有期徒刑或者无期徒刑。
"""


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("ids") / "home"
    home.mkdir()
    src = home.parent / "测试刑法(2015-08-29).md"
    src.write_text(CRIMINAL, encoding="utf-8")
    kb = KnowledgeBase.open(home, tiny_config())
    report = kb.import_path(src, progress=False)
    assert not report.errors, report.errors
    yield kb
    kb.close()


def test_keys_and_ids_round_trip() -> None:
    assert article_key(120, 1) == "120-1" and article_key(47) == "47"
    pid = passage_id("测试刑法", "2015-08-29", article_key(120, 1))
    assert pid == "测试刑法@2015-08-29#120-1"
    assert parse_passage_id(pid) == ("测试刑法", "2015-08-29", "120-1")
    assert article_no_of_key("120-1") == 120 and article_no_of_key("p17") is None
    assert is_passage_id(pid) and not is_passage_id("测试刑法第一百二十条之一")


def test_the_zhi_yi_article_is_stored_with_its_key(kb: KnowledgeBase) -> None:
    pid = "测试刑法@2015-08-29#120-1"
    found = kb.passages([pid])
    assert pid in found and "资助恐怖活动组织" in found[pid].text
    assert found[pid].article_label == "第一百二十条之一"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("测试刑法@2015-08-29#120-1", "资助恐怖活动组织"),
        ("测试刑法第一百二十条之一", "资助恐怖活动组织"),
        ("《中华人民共和国测试刑法》第一百二十条之一", "资助恐怖活动组织"),
        ("测试刑法第一百二十条", "组织、领导恐怖活动组织"),
        ("测试刑法@2015-08-29#120", "组织、领导恐怖活动组织"),
    ],
)
def test_kb_resolves_ids_and_references(kb: KnowledgeBase, text: str, words: str) -> None:
    passage = kb.resolve(text)
    assert passage is not None and words in passage.text
    assert kb.resolve("测试刑法第一百二十条之二") is None


def test_exact_reference_retrieval_finds_the_zhi_yi_article(kb: KnowledgeBase) -> None:
    hits = kb.retrieve("测试刑法第一百二十条之一是怎么规定的", k=3)
    assert hits and hits[0].id == "测试刑法@2015-08-29#120-1"
    # the old reference API still gives the article number
    assert kb.parse_reference("测试刑法第一百二十条之一") == ("测试刑法", 120)
    assert kb.parse_reference_key("测试刑法第一百二十条之一") == ("测试刑法", "120-1")


def test_reviewer_picks_resolve_the_zhi_yi_article(kb: KnowledgeBase) -> None:
    picked = pick_passages(kb, ["测试刑法@2015-08-29#120-1", "测试刑法第一百二十条之一"])
    assert [p.id for p in picked] == ["测试刑法@2015-08-29#120-1"] * 2
    with pytest.raises(ReleaseError, match="补充依据"):
        pick_passages(kb, ["测试刑法@2015-08-29#120-9"])


def test_loader_builds_the_key_from_the_label(tmp_path: Path) -> None:
    from knowledge.loaders import parse_statute

    doc = parse_statute(CRIMINAL, tmp_path / "测试刑法.md")
    assert [a.key for a in doc.articles] == ["120", "120-1", "121"]
