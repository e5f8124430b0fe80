"""Guideline editions supersede each other like statute versions; curation lists every edition with its status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.classify import edition_family, edition_rank
from knowledge.kb import KnowledgeBase
from knowledge.versions import DocVersion, current_versions
from tests.knowledge.conftest import tiny_config


def _guide(title: str, text: str, **extra) -> str:
    row = {
        "title": title,
        "text": text,
        "section": "六、治疗 > （二）抗病毒治疗",
        "domain": "medical",
        **extra,
    }
    return json.dumps(row, ensure_ascii=False)


@pytest.fixture
def editions(tmp_path: Path) -> Path:
    d = tmp_path / "guides"
    d.mkdir()
    (d / "flu2020.jsonl").write_text(
        _guide("测试流感诊疗方案（2020年版）", "旧版：奥司他韦抗病毒治疗，疗程三天。") + "\n",
        encoding="utf-8",
    )
    (d / "flu2025.jsonl").write_text(
        _guide("测试流感诊疗方案（2025年版）", "新版：奥司他韦抗病毒治疗，疗程五天。") + "\n",
        encoding="utf-8",
    )
    return d


def test_edition_family_and_rank() -> None:
    assert edition_family("流行性感冒诊疗方案（2025年版）") == "流行性感冒诊疗方案"
    assert edition_family("新型冠状病毒感染诊疗方案（试行第十版）") == "新型冠状病毒感染诊疗方案"
    assert edition_family("血液净化标准操作规程（2021版）") == "血液净化标准操作规程"
    assert edition_rank("新型冠状病毒感染诊疗方案（试行第十版）") > edition_rank(
        "新型冠状病毒感染诊疗方案（试行第九版）"
    )
    assert edition_rank("X（2025年版）") > edition_rank("X（2020年版）")


def test_newer_edition_supersedes_older_and_both_are_listed(yiju_home: Path, editions: Path) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    assert kb.import_path(editions, progress=False).errors == []
    hits = kb.retrieve("奥司他韦 抗病毒治疗 疗程", domain="medical", k=5)
    assert [p.law for p in hits] == ["测试流感诊疗方案（2025年版）"]
    # the older edition is still there, for a question that names it or a look-back
    assert kb.retrieve("奥司他韦 疗程", law="测试流感诊疗方案（2020年版）", all_versions=True, k=5)
    infos = {x.law: x for x in kb.laws(query="测试流感诊疗方案")}
    assert set(infos) == {"测试流感诊疗方案（2020年版）", "测试流感诊疗方案（2025年版）"}
    assert infos["测试流感诊疗方案（2025年版）"].details[0].status == "current"
    assert infos["测试流感诊疗方案（2020年版）"].details[0].status == "superseded"
    assert infos["测试流感诊疗方案（2020年版）"].editions == ["测试流感诊疗方案（2025年版）"]
    assert (
        infos["测试流感诊疗方案（2020年版）"].kind == "指南" and infos["测试流感诊疗方案（2020年版）"].family
    )
    # removing the new edition serves the old one again (once the index rebuilt in the background is in)
    kb.remove("测试流感诊疗方案（2025年版）")
    assert kb.serving.wait_idle(30)
    assert [p.law for p in kb.retrieve("奥司他韦 疗程", domain="medical", k=5)] == [
        "测试流感诊疗方案（2020年版）"
    ]
    kb.close()


def test_local_edition_is_served_beside_official_never_instead() -> None:
    official = DocVersion(
        "流感方案（2020年版）", "undated", origin="official", family="流感方案", kind="指南"
    )
    newer_local = DocVersion(
        "流感方案（2025年版）", "undated", origin="local", family="流感方案", kind="指南"
    )
    older_local = DocVersion(
        "流感方案（2019年版）", "undated", origin="local", family="流感方案", kind="指南"
    )
    served = current_versions([official, newer_local, older_local], "2026-01-01")
    assert {k[0] for k in served} == {"流感方案（2020年版）", "流感方案（2025年版）"}
    newer_official = DocVersion(
        "流感方案（2026年版）", "undated", origin="official", family="流感方案", kind="指南"
    )
    served = current_versions([official, newer_local, newer_official], "2026-06-01")
    assert {k[0] for k in served} == {"流感方案（2026年版）"}


def test_real_guideline_titles_do_not_collapse_into_one_family() -> None:
    corpus = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "medical" / "nhc_guidelines.jsonl"
    if not corpus.exists():
        pytest.skip("../shared/corpus/medical is absent")
    titles = {json.loads(line)["title"] for line in corpus.read_text(encoding="utf-8").splitlines() if line}
    families = {edition_family(t) for t in titles}
    assert len(families) == len(titles)  # 28 documents, no two taken for editions of one another
