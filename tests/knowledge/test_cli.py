"""`yiju kb …` and `yiju eval retrieval` through typer's CliRunner (real store, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from tests.knowledge.conftest import TINY

runner = CliRunner()


@pytest.fixture
def home(yiju_home: Path) -> Path:
    import yaml

    (yiju_home / "yiju.yaml").write_text(yaml.safe_dump({"knowledge": TINY}), encoding="utf-8")
    return yiju_home


def run(*args: str):
    return runner.invoke(app, list(args))


def test_import_show_list_stats_remove(home: Path, laws_dir: Path) -> None:
    res = run("kb", "import", str(laws_dir), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["articles_added"] == 6
    again = json.loads(run("kb", "import", str(laws_dir), "--json").output)[0]
    assert again["files_skipped"] == 2
    res = run("kb", "show", "测试劳动法第十一条")
    assert res.exit_code == 0 and "经济补偿按劳动者在本单位工作的年限" in res.output
    shown = json.loads(run("kb", "show", "测试劳动法第2条", "--json").output)
    assert shown["article_no"] == 2 and "支付令" in shown["text"]
    laws = json.loads(run("kb", "list", "--json").output)
    assert {x["law"] for x in laws} == {"测试劳动法", "测试医疗纠纷处理条例"}
    stats = json.loads(run("kb", "stats", "--json").output)
    assert stats["articles"] == 6 and stats["store"] == "chroma_local"
    res = run("kb", "remove", "测试劳动法")
    assert res.exit_code == 0 and "removed 4" in res.output
    assert run("kb", "remove", "测试劳动法").exit_code == 1
    res = run("kb", "show", "测试劳动法第十一条")
    assert res.exit_code == 1 and "error" in res.output


def test_import_errors_exit_nonzero_and_name_file_line(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,body\n甲,乙\n", encoding="utf-8")
    res = run("kb", "import", str(bad))
    assert res.exit_code == 1 and "bad.csv:1" in res.output and "title" in res.output
    assert run("kb", "import").exit_code == 1
    assert run("kb", "import", str(tmp_path / "missing")).exit_code == 1


def test_starter_and_eval_retrieval(home: Path, tmp_path: Path) -> None:
    assert run("kb", "import", "--starter").exit_code == 0
    qs = [
        {
            "question": "劳动合同法第四十七条的内容是什么？",
            "gold": [{"law": "劳动合同法", "article_no": 47}],
            "task": "lookup",
        },
        {
            "question": "社会法社会保险法第八十六条",
            "gold": [{"law": "社会保险法", "article_no": 86}],
            "task": "lookup",
        },
        {
            "question": "单位迟迟不给员工交社保，要交滞纳金吗？",
            "gold": [{"law": "社会保险法", "article_no": 86}],
            "task": "scenario",
        },
    ]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in qs), encoding="utf-8")
    res = run("eval", "retrieval", "--set", str(qfile), "--k", "10", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out) == {"lookup", "scenario", "overall"}
    assert out["lookup"]["hit@1"] == 1.0 and out["lookup"]["mrr"] == 1.0
    assert out["overall"]["n"] == 3 and set(out["overall"]) >= {"hit@1", "hit@5", "hit@10", "mrr"}
    table = run("eval", "retrieval", "--set", str(qfile))
    assert table.exit_code == 0 and "overall" in table.output
    qfile.write_text('{"question": "x"}\n', encoding="utf-8")
    res = run("eval", "retrieval", "--set", str(qfile))
    assert res.exit_code == 1 and "q.jsonl:1" in res.output and "gold" in res.output


def test_domains_show_set_and_reset(home: Path, laws_dir: Path) -> None:
    assert run("kb", "import", str(laws_dir), "--domain", "legal").exit_code == 0
    res = run("kb", "domains", "测试医疗纠纷处理条例")
    assert res.exit_code == 0 and "legal,medical" in res.output  # a health statute serves both
    res = run("kb", "domains", "《测试劳动法》", "--set", "legal,medical")
    assert res.exit_code == 0 and "now serves legal,medical" in res.output
    laws = {x["law"]: x for x in json.loads(run("kb", "list", "--json", "--domain", "medical").output)}
    assert laws["测试劳动法"]["domains"] == ["legal", "medical"]
    res = run("kb", "domains", "测试劳动法", "--auto")
    assert res.exit_code == 0 and "now serves legal (automatic)" in res.output
    res = run("kb", "domains", "没有这部法", "--set", "legal")
    assert res.exit_code == 1 and "no law named 没有这部法" in res.output
    res = run("kb", "domains", "测试劳动法", "--set", "Legal!")
    assert res.exit_code == 1 and "invalid domain 'Legal!'" in res.output


def test_list_shows_kind_status_and_finds_names_with_book_marks(home: Path, tmp_path: Path) -> None:
    from tests.knowledge.conftest import LABOUR_V1, LABOUR_V2

    laws = tmp_path / "corpus" / "社会法"
    laws.mkdir(parents=True)
    (laws / "测试劳动法(2010-01-01).md").write_text(LABOUR_V1, encoding="utf-8")
    (laws / "测试劳动法(2020-06-30).md").write_text(LABOUR_V2, encoding="utf-8")
    assert run("kb", "import", str(laws)).exit_code == 0
    (info,) = json.loads(run("kb", "list", "--json", "--search", "《中华人民共和国测试劳动法》").output)
    assert info["kind"] == "法律" and info["current_version"] == "2020-06-30"
    assert [(d["version"], d["status"]) for d in info["details"]] == [
        ("2020-06-30", "current"),
        ("2010-01-01", "superseded"),
    ]
    res = run("kb", "list", "--kind", "法律")
    assert res.exit_code == 0 and "*2020-06-30" in res.output and "测试劳动法" in res.output
    assert json.loads(run("kb", "list", "--json", "--kind", "指南").output) == []
    res = run("kb", "show", "《测试劳动法》第十一条")
    assert res.exit_code == 0 and "法律" in res.output
    assert run("kb", "remove", "《中华人民共和国测试劳动法》", "--version", "2010-01-01").exit_code == 0
