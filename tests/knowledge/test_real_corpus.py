"""Hybrid retrieval and exact look-up on a real slice of ../shared/corpus/laws (skipped when absent)."""

from __future__ import annotations

import shutil

import pytest

from knowledge.kb import KnowledgeBase
from tests.knowledge.conftest import tiny_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_kb(tmp_path_factory: pytest.TempPathFactory):
    from tests.conftest import LAWS_DIR

    if not LAWS_DIR.is_dir():
        pytest.skip("../shared/corpus/laws is not present")
    src = tmp_path_factory.mktemp("laws")
    # labour and social laws, the civil code (split over 8 files) and two medical regulations
    shutil.copytree(LAWS_DIR / "社会法", src / "社会法")
    shutil.copytree(LAWS_DIR / "民法典", src / "民法典")
    for name in ("医疗纠纷预防和处理条例(2018-07-31).md", "工伤保险条例(2010-12-20).md"):
        shutil.copy(LAWS_DIR / "行政法规" / name, src / name)
    home = tmp_path_factory.mktemp("home")
    kb = KnowledgeBase.open(home, tiny_config())
    report = kb.import_path(src, progress=False)
    assert report.errors == []
    yield kb
    kb.close()


@pytest.mark.parametrize(
    ("query", "law", "no"),
    [
        ("劳动合同法第四十七条", "劳动合同法", 47),
        ("民法典第1165条", "民法典", 1165),
        ("社会法职业病防治法第三十二条的内容是什么？", "职业病防治法", 32),
        ("民法典第一千二百六十条", "民法典", 1260),
        ("请问《中华人民共和国社会保险法》第五十八条怎么规定的", "社会保险法", 58),
    ],
)
def test_exact_lookup_first(real_kb: KnowledgeBase, query: str, law: str, no: int) -> None:
    hit = real_kb.retrieve(query, k=5)[0]
    assert (hit.law, hit.article_no) == (law, no)
    assert hit.text == real_kb.lookup(law, no).text


def test_civil_code_is_one_law_across_files(real_kb: KnowledgeBase) -> None:
    info = next(x for x in real_kb.laws() if x.law == "民法典")
    assert info.articles == 1260 and info.law_full == "中华人民共和国民法典"
    assert "侵权责任" in real_kb.lookup("民法典", 1165).text


def test_versions_of_one_law(real_kb: KnowledgeBase) -> None:
    info = next(x for x in real_kb.laws() if x.law == "慈善法")
    assert info.versions == ["2016-03-16", "2023-12-29"]
    assert real_kb.lookup("慈善法", 1).version == "2023-12-29"
    assert real_kb.lookup("慈善法", 1, as_of="2020-01-01").version == "2016-03-16"


@pytest.mark.parametrize(
    ("query", "law", "no"),
    [
        ("用人单位未及时足额支付劳动报酬，劳动者可以解除劳动合同吗", "劳动合同法", 38),
        ("职工在上下班途中受到非本人主要责任的交通事故伤害，能认定工伤吗", "工伤保险条例", 14),
        ("患者要求复制住院志和手术记录，医院应当提供吗", "医疗纠纷预防和处理条例", 16),
    ],
)
def test_hybrid_scenarios_find_the_article(real_kb: KnowledgeBase, query: str, law: str, no: int) -> None:
    hits = real_kb.retrieve(query, k=5)
    assert (law, no) in [(p.law, p.article_no) for p in hits]


def test_domain_filter_on_real_laws(real_kb: KnowledgeBase) -> None:
    hits = real_kb.retrieve("患者 病历 复制", domain="medical", k=5)
    assert hits and {p.law for p in hits} == {"医疗纠纷预防和处理条例"}
