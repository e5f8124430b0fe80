"""Acceptance-audit fixes: `--domain auto` on look-alike titles, 'file skipped' import errors, and lookup
failures that tell a missing version from a missing article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from knowledge.kb import KnowledgeBase
from knowledge.loaders import guess_domain
from tests.knowledge.conftest import LABOUR_V2, TINY, tiny_config

# Titles whose 药/卫生/放射/生物安全 sits inside a non-medical word -> legal.
LOOK_ALIKES = {
    "农药管理条例": "legal",
    "兽药管理条例": "legal",
    "最高人民法院关于审理非法制造、买卖、运输枪支、弹药、爆炸物等刑事案件具体应用法律若干问题的解释": "legal",
    "城市市容和环境卫生管理条例": "legal",
    "中华人民共和国放射性污染防治法": "legal",
    "农业转基因生物安全管理条例": "legal",
    "化妆品卫生监督条例": "legal",  # product regulation, like 食品安全法 (legal)
}
TRUE_MEDICAL = {
    "中华人民共和国药品管理法": "medical",
    "医疗纠纷预防和处理条例": "medical",
    "中华人民共和国传染病防治法": "medical",
    "中华人民共和国精神卫生法": "medical",
    "中华人民共和国疫苗管理法": "medical",
    "中华人民共和国医师法": "medical",
    "护士条例": "medical",
    "中华人民共和国献血法": "medical",
    "放射性药品管理办法": "medical",  # an exclusion word must not hide another medical keyword
    "中华人民共和国职业病防治法": "medical",
}


def _statute(title: str) -> str:
    return f"# {title}\n\n2020年1月1日 公布\n\n<!-- INFO END -->\n\n第一条 为了规范管理，制定本条例。\n"


def test_auto_domain_of_look_alike_and_medical_titles(yiju_home: Path, tmp_path: Path) -> None:
    expected = {**LOOK_ALIKES, **TRUE_MEDICAL}
    d = tmp_path / "titles"
    d.mkdir()
    for i, title in enumerate(expected):
        (d / f"law{i}.md").write_text(_statute(title), encoding="utf-8")
    kb = KnowledgeBase.open(yiju_home, tiny_config(embedder={"kind": "none"}))
    try:
        report = kb.import_path(d, domain="auto", progress=False)
        assert report.errors == [] and report.files_imported == len(expected)
        got = {x.law_full: x.domain for x in kb.laws()}
    finally:
        kb.close()
    assert got == expected


@pytest.mark.parametrize(
    ("title", "domain"),
    [
        ("中华人民共和国生物安全法", "medical"),  # only 转基因生物安全 is excluded
        ("农药和药品管理规定", "medical"),  # the cut removes 农药 only; 药品 still counts
        ("农药兽药弹药火药炸药管理规定", "legal"),
    ],
)
def test_exclusion_cut_keeps_other_keywords(title: str, domain: str) -> None:
    assert guess_domain(title) == domain


def test_bad_line_error_says_file_was_skipped(yiju_home: Path, tmp_path: Path) -> None:
    d = tmp_path / "src"
    d.mkdir()
    good = json.dumps({"title": "指南甲", "text": "第一段。"}, ensure_ascii=False)
    (d / "bad.jsonl").write_text(good + "\nnot json\n", encoding="utf-8")
    (d / "bad.csv").write_text("title,text,article_no\n指南乙,甲,1\n指南乙,乙,abc\n", encoding="utf-8")
    (d / "ok.md").write_text(_statute("测试管理条例"), encoding="utf-8")
    kb = KnowledgeBase.open(yiju_home, tiny_config(embedder={"kind": "none"}))
    try:
        strict = kb.import_path(d, strict=True, progress=False)
        assert strict.errors and "nothing was imported" in strict.errors[0].message
        assert kb.stats()["articles"] == 0
        report = kb.import_path(d, progress=False)
        by_file = {Path(e.file).name: e for e in report.errors}
        assert set(by_file) == {"bad.jsonl", "bad.csv"}
        assert by_file["bad.jsonl"].line == 2 and by_file["bad.jsonl"].message.startswith("not valid JSON")
        assert by_file["bad.csv"].line == 3 and "article_no" in by_file["bad.csv"].message
        for e in report.errors:
            assert e.message.endswith("— file skipped (no articles from it were imported); fix it and re-run")
        # atomic per file: the good first line of bad.jsonl is not in the KB, the good file is
        assert report.files_imported == 1 and {x.law for x in kb.laws()} == {"测试管理条例"}
    finally:
        kb.close()


@pytest.fixture
def cli_home(yiju_home: Path) -> Path:
    import yaml

    (yiju_home / "yiju.yaml").write_text(yaml.safe_dump({"knowledge": TINY}), encoding="utf-8")
    return yiju_home


def test_show_tells_missing_version_from_missing_article(cli_home: Path, laws_dir: Path) -> None:
    runner = CliRunner()
    (laws_dir / "测试劳动法(2020-06-30).md").write_text(LABOUR_V2, encoding="utf-8")
    assert runner.invoke(app, ["kb", "import", str(laws_dir), "--json"]).exit_code == 0
    assert runner.invoke(app, ["kb", "show", "测试劳动法第一条", "--as-of", "2015-01-01"]).exit_code == 0
    assert "removed 4" in runner.invoke(app, ["kb", "remove", "测试劳动法", "--version", "2010-01-01"]).output

    def show(*args: str) -> str:
        res = runner.invoke(app, ["kb", "show", *args], terminal_width=400)
        # errors go to stderr (click 8.5 no longer mixes them into .output under capture)
        text = res.stderr + res.stdout
        assert res.exit_code == 1, text
        return " ".join(text.split())

    out = show("测试劳动法第一条", "--as-of", "2015-01-01")
    assert "no version of 测试劳动法 in force on 2015-01-01 (versions: 2020-06-30)" in out
    assert "has no article" not in out
    assert "测试劳动法 has no article 99 (versions: 2020-06-30)" in show("测试劳动法第九十九条")
    out = show("测试劳动法第九十九条", "--as-of", "2021-01-01")
    assert "测试劳动法 has no article 99 in the version in force on 2021-01-01 (2020-06-30)" in out
    assert "测试劳动法 has no version 2010-01-01 (versions: 2020-06-30)" in show(
        "测试劳动法第一条", "--version", "2010-01-01"
    )


def test_lookup_failure_for_unknown_law(yiju_home: Path, laws_dir: Path) -> None:
    kb = KnowledgeBase.open(yiju_home, tiny_config(embedder={"kind": "none"}))
    try:
        kb.import_path(laws_dir, progress=False)
        assert kb.lookup("没有的法", 1) is None
        assert kb.lookup_failure("没有的法", 1).startswith("no law named 没有的法")
    finally:
        kb.close()
