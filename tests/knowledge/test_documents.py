"""PDF, DOCX and HTML guidelines (files built here with reportlab, python-docx and plain HTML): headings become
section paths, text becomes passages of sensible length; a scanned PDF is an error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.errors import LoadError
from knowledge.kb import KnowledgeBase
from knowledge.sections import MAX_PASSAGE_CHARS
from knowledge.sources import load_file
from tests.knowledge.conftest import tiny_config

FLU_LINES = [
    "测试流感诊疗方案（2025年版）",
    "一、病原学",
    "流感病毒属于正粘病毒科，为单股负链RNA病毒，",  # a line the page broke, not the sentence
    "根据核蛋白和基质蛋白分为甲、乙、丙、丁四型。",
    "— 1 —",  # a running page number
    "二、临床表现",
    "（一）潜伏期",
    "潜伏期一般为1～4天，平均2天。",
    "（二）症状",
    "1.发热",
    "多数患者急性起病，体温可达39～40℃。",
    "三、治疗",
    "发病48小时内进行抗病毒治疗可减少并发症、降低病死率。",
]


def write_pdf(path: Path, lines: list[str], pages: int = 1) -> Path:
    """A real PDF with a text layer (reportlab's built-in Chinese CID font; no font file needed)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    per_page = max(1, len(lines) // pages + (len(lines) % pages > 0))
    for start in range(0, len(lines), per_page):
        c.setFont("STSong-Light", 11)
        y = 800
        for line in lines[start : start + per_page]:
            c.drawString(40, y, line)
            y -= 18
        c.showPage()
    c.save()
    return path


def write_scanned_pdf(path: Path) -> Path:
    """A PDF of two 'scanned' pages: only drawings, no text layer."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for _ in range(2):
        c.rect(50, 50, 400, 600, fill=1)
        c.showPage()
    c.save()
    return path


def write_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("测试手足口病诊疗指南（2018年版）", 0)
    d.add_heading("一、临床表现", 1)
    d.add_paragraph("手足口病主要表现为发热和手、足、口腔等部位的皮疹。")
    d.add_paragraph("（一）普通病例")  # a heading by its numbering, not by its style
    d.add_paragraph("急性起病，发热，口腔黏膜出现散在疱疹。")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "分期", "表现"
    table.cell(1, 0).text, table.cell(1, 1).text = "第1期", "出疹期"
    d.add_heading("二、治疗", 1)
    d.add_paragraph("对症治疗为主。" * 150)  # one long paragraph: cut into passages of sensible length
    d.save(str(path))
    return path


HTML = """<!doctype html><html><head><meta charset="utf-8"><title>测试狂犬病处置规范 - 某委员会</title>
<script>document.write("广告")</script><style>p{color:red}</style></head><body>
<nav>首页 | 政策文件</nav><h1>测试狂犬病暴露预防处置规范</h1>
<h2>一、暴露分级</h2><p>按照接触方式和暴露程度将狂犬病暴露分为三级。</p>
<h3>（一）I级暴露</h3><p>接触或者喂养动物，完好的皮肤被舔舐。</p>
<table><tr><td>级别</td><td>处置</td></tr><tr><td>III级</td><td>伤口处置、疫苗和被动免疫制剂</td></tr></table>
<footer>版权所有</footer></body></html>"""


def test_pdf_headings_become_sections_and_broken_lines_are_joined(tmp_path: Path) -> None:
    (doc,) = load_file(write_pdf(tmp_path / "flu.pdf", FLU_LINES, pages=2))
    assert doc.law == "测试流感诊疗方案（2025年版）" and doc.kind == "指南" and doc.fmt == "pdf"
    by_section = {a.section: a.text for a in doc.articles}
    assert (
        by_section["一、病原学"]
        == "流感病毒属于正粘病毒科，为单股负链RNA病毒，根据核蛋白和基质蛋白分为甲、乙、丙、丁四型。"
    )
    assert by_section["二、临床表现 > （一）潜伏期"] == "潜伏期一般为1～4天，平均2天。"
    assert "二、临床表现 > （二）症状 > 1.发热" in by_section
    assert "— 1 —" not in "".join(by_section.values())
    assert [a.key for a in doc.articles] == ["p1", "p2", "p3", "p4"]


def test_scanned_pdf_is_an_error_naming_the_file_and_nothing_is_imported(
    yiju_home: Path, tmp_path: Path
) -> None:
    scan = write_scanned_pdf(tmp_path / "扫描件.pdf")
    with pytest.raises(LoadError, match="no text layer") as info:
        load_file(scan)
    assert info.value.file.endswith("扫描件.pdf")
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    report = kb.import_path(scan, progress=False)
    assert report.files_imported == 0 and kb.stats()["articles"] == 0
    assert report.errors[0].file.endswith("扫描件.pdf") and "looks scanned" in report.errors[0].message
    kb.close()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("broken.pdf", b"%PDF-1.4\nnot really a pdf", "not a readable PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip at all", "not a readable DOCX"),
        ("empty.html", b"<html><body><script>x()</script></body></html>", "no text found"),
    ],
)
def test_broken_documents_name_the_file(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=message) as info:
        load_file(path)
    assert info.value.file == str(path)


def test_docx_styles_numbering_tables_and_long_paragraphs(tmp_path: Path) -> None:
    (doc,) = load_file(write_docx(tmp_path / "hfmd.docx"))
    assert doc.law == "测试手足口病诊疗指南（2018年版）" and doc.kind == "指南"
    sections = [a.section for a in doc.articles]
    assert sections[:2] == ["一、临床表现", "一、临床表现 > （一）普通病例"]
    assert "分期 | 表现\n第1期 | 出疹期" in doc.articles[1].text
    treatment = [a for a in doc.articles if a.section == "二、治疗"]
    assert len(treatment) >= 2 and all(len(a.text) <= MAX_PASSAGE_CHARS for a in treatment)
    assert "".join(a.text for a in treatment) == "对症治疗为主。" * 150  # nothing lost in the cut


def test_html_drops_scripts_and_navigation_and_keeps_heading_paths(tmp_path: Path) -> None:
    path = tmp_path / "rabies.html"
    path.write_text(HTML, encoding="utf-8")
    (doc,) = load_file(path)
    assert doc.law == "测试狂犬病暴露预防处置规范"
    text = "\n".join(a.text for a in doc.articles)
    assert "广告" not in text and "首页" not in text and "版权所有" not in text and "color" not in text
    assert [a.section for a in doc.articles] == ["一、暴露分级", "一、暴露分级 > （一）I级暴露"]
    assert "III级 | 伤口处置、疫苗和被动免疫制剂" in doc.articles[1].text


def test_statute_in_a_pdf_is_split_per_article(tmp_path: Path) -> None:
    lines = [
        "中华人民共和国测试执业法",
        "第一章 总则",
        "第一条 为了规范执业活动，制定本法。",
        "第二条 医师应当遵守本法。",
    ]
    lines += ["第三条 医师在执业活动中享有下列权利：", "（一）在注册的执业范围内进行医学诊查；"]
    (doc,) = load_file(write_pdf(tmp_path / "statute.pdf", lines))
    assert doc.law == "测试执业法" and [a.article_no for a in doc.articles] == [1, 2, 3]
    assert doc.articles[2].text.endswith("（一）在注册的执业范围内进行医学诊查；")


def test_documents_import_and_are_cited_by_section(yiju_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "guides"
    folder.mkdir()
    write_pdf(folder / "flu.pdf", FLU_LINES)
    write_docx(folder / "hfmd.docx")
    (folder / "rabies.html").write_text(HTML, encoding="utf-8")
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    report = kb.import_path(folder, progress=False)
    assert report.errors == [] and report.files_imported == 3
    hit = kb.retrieve("流感 抗病毒治疗 48小时", domain="medical", k=1)[0]
    assert hit.citation == "《测试流感诊疗方案（2025年版）》三、治疗" and hit.kind == "指南"
    assert kb.import_path(folder, progress=False).files_skipped == 3
    kb.close()
