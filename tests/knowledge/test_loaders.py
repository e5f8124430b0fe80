"""Loaders: statute markdown/text, JSONL/CSV passages, encodings, versions, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.errors import LoadError
from knowledge.loaders import guess_domain, parse_statute, short_law_name, version_from_lines
from knowledge.sources import load_file
from tests.knowledge.conftest import LABOUR_V1, LABOUR_V2


def test_markdown_articles_chapters_and_multi_paragraph(tmp_path: Path) -> None:
    f = tmp_path / "测试劳动法(2010-01-01).md"
    f.write_text(LABOUR_V1, encoding="utf-8")
    (doc,) = load_file(f)
    assert doc.law == "测试劳动法" and doc.law_full == "中华人民共和国测试劳动法"
    assert doc.version == "2010-01-01"
    assert [a.article_no for a in doc.articles] == [1, 2, 3, 11]
    second = doc.articles[1]
    assert second.text == "用人单位应当按时足额支付劳动报酬。\n用人单位拖欠劳动报酬的，劳动者可以申请支付令。"
    assert second.chapter == "第一章 总则" and doc.articles[2].chapter == "第二章 解除"
    assert doc.articles[3].article_label == "第十一条"


def test_version_from_promulgation_lines_when_file_name_has_none(tmp_path: Path) -> None:
    f = tmp_path / "测试劳动法.md"
    f.write_text(LABOUR_V2, encoding="utf-8")
    assert load_file(f)[0].version == "2020-06-30"
    assert version_from_lines(["2020年5月28日 通过", "2021年1月1日 施行"]) == "2020-05-28"
    assert version_from_lines(["2021年1月1日 施行"]) == "2021-01-01"


def test_civil_code_part_with_large_numerals(tmp_path: Path) -> None:
    text = (
        "# 中华人民共和国民法典\n\n# 附则\n\n2020年5月28日 通过\n\n<!-- INFO END -->\n\n##\n\n"
        "第一千二百五十九条 民法所称的“以上”包括本数。\n\n第一千二百六十条 本法自2021年1月1日起施行。\n"
    )
    f = tmp_path / "附则.md"
    f.write_text(text, encoding="utf-8")
    (doc,) = load_file(f)
    assert doc.law == "民法典"
    assert [a.article_no for a in doc.articles] == [1259, 1260]
    assert doc.articles[0].chapter.startswith("附则")


def test_article_with_zhi_yi_suffix_gets_its_own_key(tmp_path: Path) -> None:
    text = "# 测试刑法\n\n<!-- INFO END -->\n\n第一百二十条 甲。\n\n第一百二十条之一 乙。\n"
    doc = parse_statute(text, tmp_path / "测试刑法.md")
    assert [(a.article_no, a.key) for a in doc.articles] == [(120, "120"), (120, "120-1")]


def test_plain_text_statute(tmp_path: Path) -> None:
    f = tmp_path / "测试条例.txt"
    f.write_text(
        "测试条例\n\n第一章 总则\n\n第一条 为了测试，制定本条例。\n第二条 本条例自公布之日起施行。\n",
        encoding="utf-8",
    )
    (doc,) = load_file(f)
    assert doc.law == "测试条例" and [a.article_no for a in doc.articles] == [1, 2]
    assert doc.articles[0].chapter == "第一章 总则"


def test_gbk_and_bom_files_are_decoded(tmp_path: Path) -> None:
    gbk = tmp_path / "测试劳动法(2010-01-01).md"
    gbk.write_bytes(LABOUR_V1.encode("gbk"))
    bom = tmp_path / "bom.md"
    bom.write_bytes(b"\xef\xbb\xbf" + LABOUR_V1.encode("utf-8"))
    assert load_file(gbk)[0].articles[0].text == "为了保护劳动者的合法权益，制定本法。"
    assert load_file(bom)[0].law == "测试劳动法"


def test_empty_file_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "空.md"
    f.write_text("\n\n", encoding="utf-8")
    with pytest.raises(LoadError) as err:
        load_file(f)
    assert err.value.file == str(f) and err.value.line == 1 and "empty" in str(err.value)


def test_markdown_without_title_is_malformed(tmp_path: Path) -> None:
    f = tmp_path / "bad.md"
    f.write_text("第一条 没有标题。\n", encoding="utf-8")
    with pytest.raises(LoadError, match="no '# title'"):
        load_file(f)


def test_duplicate_article_reports_line(tmp_path: Path) -> None:
    f = tmp_path / "dup.md"
    f.write_text("# 测试法\n\n第一条 甲。\n\n第一条 乙。\n", encoding="utf-8")
    with pytest.raises(LoadError) as err:
        load_file(f)
    assert err.value.line == 5 and "first at line 3" in err.value.message


def test_markdown_without_articles_becomes_item_passages(tmp_path: Path) -> None:
    f = tmp_path / "修正案.md"
    f.write_text(
        "# 测试修正案\n\n<!-- INFO END -->\n\n一、将第一条修改为：甲。\n\n补充说明。\n\n二、删去第二条。\n",
        encoding="utf-8",
    )
    (doc,) = load_file(f)
    assert [(a.article_label, a.article_no) for a in doc.articles] == [("一、", None), ("二、", None)]
    assert doc.articles[0].text.endswith("补充说明。")


def test_jsonl_passages_and_bad_line(tmp_path: Path) -> None:
    good = {
        "title": "高血压指南",
        "text": "成人血压≥140/90 mmHg 为高血压。",
        "article_no": 3,
        "effective_date": "2023/5/1",
    }
    f = tmp_path / "guide.jsonl"
    f.write_text(json.dumps(good, ensure_ascii=False) + "\n", encoding="utf-8")
    (doc,) = load_file(f)
    assert (
        doc.version == "2023-05-01"
        and doc.articles[0].article_no == 3
        and doc.articles[0].article_label == "第三条"
    )
    f.write_text(json.dumps(good, ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(LoadError) as err:
        load_file(f)
    assert err.value.line == 2 and "not valid JSON" in err.value.message
    f.write_text(json.dumps({"title": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(LoadError, match="text"):
        load_file(f)


def test_csv_missing_columns_and_good_csv(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("name,body\n甲,乙\n", encoding="utf-8")
    with pytest.raises(LoadError) as err:
        load_file(f)
    assert err.value.line == 1 and "title" in err.value.message and "text" in err.value.message
    f.write_text(
        "title,text,article_no\n糖尿病指南,空腹血糖≥7.0 mmol/L。,1\n糖尿病指南,餐后血糖。,abc\n",
        encoding="utf-8",
    )
    with pytest.raises(LoadError) as err:
        load_file(f)
    assert err.value.line == 3 and "article_no" in err.value.message


def test_unknown_extension(tmp_path: Path) -> None:
    f = tmp_path / "x.pdfx"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(LoadError, match="unknown file type"):
        load_file(f)


def test_names_and_domains() -> None:
    assert short_law_name("中华人民共和国劳动合同法") == "劳动合同法"
    assert guess_domain("中华人民共和国医师法") == "medical"
    assert guess_domain("医疗纠纷预防和处理条例") == "medical"
    assert guess_domain("中华人民共和国劳动合同法") == "legal"


def test_every_real_statute_file_parses(shared_laws: Path) -> None:
    from knowledge.sources import iter_source_files

    files = iter_source_files(shared_laws)
    assert len(files) >= 1500
    total = sum(len(d.articles) for f in files for d in load_file(f))
    assert total > 58000
