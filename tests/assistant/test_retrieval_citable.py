"""Retrieval prefers citable articles: a how-to guide without 第X条 must not crowd out the statute."""

from __future__ import annotations

import pytest

from tests.assistant.conftest import TINY_YAML

GUIDE_SECTIONS = [
    "如何通过司法途径要求公司支付加班费？劳动者要求公司支付加班费，应当收集加班的证据。",
    "加班费怎么算？加班费的计算基数一般是劳动者的工资，加班费按加班时长计算。",
    "公司不给加班费怎么办？可以先与公司协商加班费，协商不成申请劳动仲裁要求支付加班费。",
    "加班费的证据有哪些？考勤记录、加班审批单、工资条都能证明加班和加班费。",
    "加班费仲裁需要多久？加班费的劳动仲裁一般在受理后四十五日内结束。",
    "周末加班的加班费怎么算？周末加班公司不安排补休的，应当支付加班费。",
    "加班费的诉讼时效是多久？加班费属于劳动报酬，劳动关系存续期间不受时效限制。",
    "延长工作时间的加班费怎么算？延长工作时间的加班费按工资报酬的比例计算。",
    "休息日加班费怎么算？休息日安排工作的加班费，按工资报酬计算加班费。",
    "法定休假日加班费怎么算？法定休假日加班的加班费按工资报酬计算。",
    "加班费计算基数怎么算？加班费的计算基数按劳动合同约定的工资计算。",
]

STATUTE = """\
# 中华人民共和国劳动法

<!-- INFO END -->

## 第四章 工作时间和休息休假

第四十四条 有下列情形之一的，用人单位应当按照下列标准支付高于劳动者正常工作时间工资的工资报酬：

（一）安排劳动者延长工作时间的，支付不低于工资的百分之一百五十的工资报酬；

（二）休息日安排劳动者工作又不能安排补休的，支付不低于工资的百分之二百的工资报酬；

（三）法定休假日安排劳动者工作的，支付不低于工资的百分之三百的工资报酬。

第四十五条 国家实行带薪年休假制度。

第四十六条 工资分配应当遵循按劳分配原则，实行同工同酬。
"""


@pytest.fixture(scope="module")
def guide_kb(tmp_path_factory: pytest.TempPathFactory):
    """A KB holding one guide without article numbers (many 加班费 sections) and one short statute."""
    from assistant.config import load_config
    from knowledge.kb import KnowledgeBase

    home = tmp_path_factory.mktemp("guide") / "home"
    src = home.parent / "src"
    (src / "社会法").mkdir(parents=True)
    (src / "其他").mkdir(parents=True)
    home.mkdir()
    (home / "yiju.yaml").write_text(TINY_YAML, encoding="utf-8")
    guide = "# 劳动仲裁和劳动诉讼的攻略\n\n<!-- INFO END -->\n\n" + "\n\n".join(
        f"## 问题{i}\n\n{text}" for i, text in enumerate(GUIDE_SECTIONS, 1)
    )
    (src / "其他" / "劳动仲裁和劳动诉讼的攻略.md").write_text(guide + "\n", encoding="utf-8")
    (src / "社会法" / "劳动法(2018-12-29).md").write_text(STATUTE, encoding="utf-8")
    kb = KnowledgeBase.open(home, load_config(None, home).knowledge_config())
    report = kb.import_path(src, domain="legal", fmt="auto", strict=True, progress=False)
    assert not report.errors, report.errors
    yield kb
    kb.close()


def test_guide_without_articles_does_not_crowd_out_statute(guide_kb, audit) -> None:
    from assistant.domains import load_domains
    from assistant.generators.extractive import ExtractiveGenerator
    from assistant.pipeline import Pipeline

    domains = load_domains()
    # No synonyms: 加班费 -> 工资报酬 would lift the statute on its own; this checks the ranking step.
    domains["legal"].synonyms = {}
    pipe = Pipeline(kb=guide_kb, audit=audit, domains=domains, generator=ExtractiveGenerator())
    k = pipe.domain_spec("legal").retrieval.k
    # Precondition: the guide outranks the statute, filling the plain top-k.
    plain = guide_kb.retrieve("加班费怎么算？", domain="legal", k=k)
    assert all(p.article_no is None for p in plain)

    got = pipe.retrieve("加班费怎么算？", "legal")
    nos = [p.article_no for p in got]
    assert 44 in nos
    citable = [n for n in nos if n is not None]
    # Citable passages come first; guide passages only fill the remaining places.
    assert nos[: len(citable)] == citable
    assert len(got) == k

    # End to end (with the domain's synonyms, which the basis filter needs): the statute is cited.
    full = Pipeline(kb=guide_kb, audit=audit, domains=load_domains(), generator=ExtractiveGenerator())
    result = full.ask("加班费怎么算？", domain="legal")
    assert result.status == "answered", result
    assert ("劳动法", 44) in [(c.law, c.article_no) for c in result.citations]
