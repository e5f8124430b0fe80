"""Scenario-question retrieval: query cleaning, damped query term frequency, the character-bigram BM25."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.kb import KnowledgeBase
from knowledge.sparse import BM25Index
from knowledge.textproc import (
    char_bigrams,
    clean_query,
    query_bigrams,
    query_terms,
    question_sentence,
    tokenize_query,
)
from tests.knowledge.conftest import tiny_config


@pytest.mark.parametrize(
    ("question", "gone"),
    [
        ("小明是某公司的股东，他的记名股票被盗了。", ["小明"]),
        ("张某与李某某因合同发生纠纷", ["张某", "李某某"]),
        ("王先生和李女士签订了租赁合同", ["王先生", "李女士"]),
        ("张三借给李四十万元", ["张三"]),
        ("根据哪条法律规定，用人单位应当支付经济补偿？", ["根据哪条法律规定"]),
    ],
)
def test_clean_query_drops_names_and_templates(question: str, gone: list[str]) -> None:
    cleaned = clean_query(question)
    for word in gone:
        assert word not in cleaned


@pytest.mark.parametrize("text", ["小区物业服务", "小型微型企业", "老年人权益保障", "小学教育", "第三条"])
def test_clean_query_keeps_topic_words_that_look_like_names(text: str) -> None:
    assert clean_query(text) == text


def test_tokenize_query_keeps_topic_words_only() -> None:
    toks = tokenize_query("小王是一名个人独资企业的投资人。根据相关法律条款，小王需要做出什么样的处理？")
    assert "个人独资" in toks and "投资人" in toks
    for noise in ("小", "王", "需要", "什么样", "法律条款", "一名"):
        assert noise not in toks
    # a question made only of question words still yields tokens
    assert tokenize_query("是否可以？")


def test_char_bigrams() -> None:
    assert char_bigrams("赡养费") == ["赡养", "养费"]
    assert char_bigrams("税 GB2760") == ["税", "GB2760"]
    assert "小明" not in query_bigrams("小明申请赡养费")
    assert "赡养" in query_bigrams("小明申请赡养费")


def test_asking_sentence_counts_again() -> None:
    q = "某饮食店被检查时发现过期食材。根据相关法律规定，市场监督管理部门会做出什么处理？"
    assert question_sentence(q).startswith("根据相关法律规定")
    assert question_sentence("用人单位拖欠工资怎么办？") == ""
    words, grams = query_terms(q, question_repeat=2)
    assert words.count("监督管理") == 3 and words.count("过期") == 1
    assert grams.count("监督") == 3
    plain, _ = query_terms(q, question_repeat=0)
    assert plain.count("监督管理") == 1
    # an asking sentence made only of question words adds nothing
    assert query_terms("单位拖欠工资。是否可以？", question_repeat=2)[0] == tokenize_query(
        "单位拖欠工资。是否可以？"
    )


def test_query_tf_damping_changes_the_order() -> None:
    # doc 0 matches the repeated word often; doc 1 matches both words once
    docs = [["股票", "股票", "股票", "其他"], ["股票", "补发", "其他", "其他"], ["补发", "补发", "其他"]]
    index = BM25Index.build(docs + [["无关", "其他"]] * 2)
    q = ["股票", "股票", "股票", "股票", "补发"]
    linear, sqrt, binary = (index.scores(q, mode) for mode in ("linear", "sqrt", "binary"))
    assert linear[0] > linear[1]  # four repeats let one word dominate
    assert binary[1] > binary[0]
    assert linear[0] / linear[1] > sqrt[0] / sqrt[1] > binary[0] / binary[1]
    assert np.all(linear[3:] == 0)
    with pytest.raises(ValueError, match="query_tf"):
        index.scores(q, "cubic")


SCENARIO_LAW = """# 中华人民共和国测试公司法

2018年10月26日 第一次会议通过

<!-- INFO END -->

## 第一章 股份

第一条 记名股票被盗、遗失或者灭失，股东可以依照公示催告程序，请求人民法院宣告该股票失效。人民法院宣告该股票失效后，股东可以向公司申请补发股票。

第二条 公司应当置备股东名册，记载股东的姓名或者名称及住所。

第三条 明确公司章程对公司、股东、董事具有约束力。

第四条 王国境内设立的外国公司分支机构，应当在公司名称中标明其国籍及责任形式。
"""


@pytest.fixture
def scenario_kb(yiju_home: Path, tmp_path: Path) -> KnowledgeBase:
    d = tmp_path / "scenario"
    d.mkdir()
    (d / "测试公司法(2018-10-26).md").write_text(SCENARIO_LAW, encoding="utf-8")
    kb = KnowledgeBase.open(yiju_home, tiny_config())
    assert kb.import_path(d, progress=False).errors == []
    yield kb
    kb.close()


def test_scenario_question_ignores_placeholder_names(scenario_kb: KnowledgeBase) -> None:
    # 明 and 王 are rare in the statute (high IDF): uncleaned, they pull 第三条 / 第四条 up
    q = "小明是某公司的股东，他的记名股票被盗了。根据哪条法律，小明可以向小王的公司申请补发股票？"
    hits = scenario_kb.retrieve(q, k=2)
    assert hits[0].article_no == 1


def test_bigram_index_cached_and_optional(scenario_kb: KnowledgeBase, yiju_home: Path) -> None:
    scenario_kb.retrieve("股东名册", k=1)
    version = scenario_kb.kb_version
    assert (yiju_home / "index" / f"bigram-{version}.npz").exists()
    # segmentation differs (名册 vs 股东名册 as one query word): bigrams still match
    assert scenario_kb.retrieve("股东名", k=1)[0].article_no == 2
    off = KnowledgeBase.open(yiju_home, tiny_config(retrieval={"bigram_weight": 0}))
    try:
        assert off._snap().bigram is None
        assert off.retrieve("记名股票被盗", k=1)[0].article_no == 1
    finally:
        off.close()


def test_exact_reference_still_first(scenario_kb: KnowledgeBase) -> None:
    hits = scenario_kb.retrieve("测试公司法第二条的内容是什么？", k=3)
    assert (hits[0].law, hits[0].article_no) == ("测试公司法", 2)


@pytest.mark.parametrize("fusion", ["score", "rrf"])
def test_both_fusions_use_the_bigram_ranking(yiju_home: Path, tmp_path: Path, fusion: str) -> None:
    d = tmp_path / "f"
    d.mkdir()
    (d / "测试公司法(2018-10-26).md").write_text(SCENARIO_LAW, encoding="utf-8")
    kb = KnowledgeBase.open(
        yiju_home,
        tiny_config(retrieval={"ranker": "fusion", "fusion": fusion, "dense_weight": 0, "sparse_weight": 0}),
    )
    try:
        kb.import_path(d, progress=False)
        # with only the bigram ranking on, the article sharing the most bigrams wins
        assert kb.retrieve("公示催告程序", k=1)[0].article_no == 1
    finally:
        kb.close()
