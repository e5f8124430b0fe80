"""Retrieval evaluation: statute and guideline-section gold, per-task figures (no corpus needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.errors import LoadError
from knowledge.evaluation import (
    EvalItem,
    evaluate_with,
    is_relevant,
    load_eval_set,
    starts_with_section,
)
from knowledge.types import Passage


def _p(pid: str, law: str, no: int | None = None, chapter: str = "", **extra) -> Passage:
    return Passage(id=pid, domain="medical", law=law, article_no=no, chapter=chapter, text="…", **extra)


def test_section_prefix_is_component_wise() -> None:
    assert starts_with_section("四、临床表现 > （一）临床表现", "四、临床表现")
    assert starts_with_section("四、临床表现>（一）临床表现", "四、临床表现 > （一）临床表现")
    assert not starts_with_section("十一、预防", "十、治疗")  # a string prefix, not a section prefix
    assert not starts_with_section("1. 软骨发育不全 > 概述", "1. 软骨发育不全 > 概述 > 定义")
    assert not starts_with_section("", "十、治疗")


def test_relevance_statute_and_section() -> None:
    item = EvalItem.model_validate(
        {
            "question": "q",
            "gold": [
                {"law": "中华人民共和国劳动合同法", "article_no": 47},
                {"title": "流行性感冒诊疗方案（2025年版）", "section": "十、治疗 > （三）抗病毒治疗"},
            ],
        }
    )
    assert is_relevant(_p("a", "劳动合同法", 47), item.gold)
    assert not is_relevant(_p("b", "劳动合同法", 46), item.gold)
    flu = "流行性感冒诊疗方案（2025年版）"
    assert is_relevant(_p("c", flu, chapter="十、治疗 > （三）抗病毒治疗 > 1.奥司他韦"), item.gold)
    assert not is_relevant(_p("d", flu, chapter="十、治疗 > （二）对症治疗"), item.gold)
    assert not is_relevant(_p("e", "手足口病诊疗指南", chapter="十、治疗 > （三）抗病毒治疗"), item.gold)


def test_passage_covering_several_sections_counts_for_each() -> None:
    """A passage's `sections` lists every heading path whose text it holds (ingest stores it)."""
    if "sections" not in Passage.model_fields:
        pytest.skip("Passage.sections not in this data model yet")
    flu = "流行性感冒诊疗方案（2025年版）"
    p = _p("f", flu, chapter="四、临床表现", sections=["四、临床表现", "四、临床表现 > （一）临床表现"])
    item = EvalItem.model_validate(
        {"question": "q", "gold": [{"title": flu, "section": "四、临床表现 > （一）临床表现"}]}
    )
    assert is_relevant(p, item.gold)


def test_figures_per_task_and_overall() -> None:
    items = [
        EvalItem.model_validate({"question": "q1", "gold": [{"law": "甲法", "article_no": 1}], "task": "t1"}),
        EvalItem.model_validate({"question": "q2", "gold": [{"law": "甲法", "article_no": 2}], "task": "t1"}),
        EvalItem.model_validate({"question": "q3", "gold": [{"law": "甲法", "article_no": 3}], "task": "t2"}),
    ]
    ranked = {
        "q1": [_p("1", "甲法", 1)],
        "q2": [_p("9", "甲法", 9), _p("8", "甲法", 8), _p("2", "甲法", 2)],
        "q3": [_p("9", "甲法", 9)],
    }
    out = evaluate_with(lambda q, k: ranked[q], items, k=10)
    assert out["t1"]["hit@1"] == 0.5 and out["t1"]["hit@5"] == 1.0
    assert out["t1"]["mrr"] == pytest.approx((1 + 1 / 3) / 2, abs=1e-4)
    assert out["t2"]["hit@10"] == 0.0 and out["t2"]["mrr"] == 0.0
    assert out["overall"]["n"] == 3 and out["overall"]["hit@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert {"latency_ms_p50", "latency_ms_p95"} <= set(out["overall"])
    # only the first k passages count
    assert evaluate_with(lambda q, k: ranked[q], items[1:2], k=1)["t1"]["hit@1"] == 0.0


def test_load_errors_name_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "set.jsonl"
    good = {"question": "q", "gold": [{"title": "T", "section": "一、概述"}], "task": "x"}
    f.write_text(
        json.dumps(good, ensure_ascii=False)
        + "\n"
        + json.dumps({"question": "q", "gold": [{"title": "T"}]})
        + "\n"
    )
    with pytest.raises(LoadError) as err:
        load_eval_set(f)
    assert err.value.line == 2 and str(f) in str(err.value)
    f.write_text(json.dumps(good, ensure_ascii=False) + "\n")
    assert load_eval_set(f)[0].gold[0].is_section


def test_quality_sets_governing_article_is_the_gold(tmp_path: Path) -> None:
    """tests/quality/legal_everyday.jsonl rows name the article to cite first `governing`: it is the gold."""
    f = tmp_path / "everyday.jsonl"
    row = {
        "id": "L01",
        "question": "劳动合同到期后公司不续签，员工能拿到经济补偿吗？",
        "governing": [{"law": "劳动合同法", "article_no": 46}],
        "also": [{"law": "劳动合同法", "article_no": 44}],
    }
    f.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    (item,) = load_eval_set(f)
    assert [(g.law, g.article_no) for g in item.gold] == [("劳动合同法", 46)]
    # an explicit gold wins over governing
    item = EvalItem.model_validate({**row, "gold": [{"law": "劳动合同法", "article_no": 47}]})
    assert item.gold[0].article_no == 47
    # the checked-in set loads as it is
    shipped = Path(__file__).resolve().parents[1] / "quality" / "legal_everyday.jsonl"
    if shipped.exists():
        assert len(load_eval_set(shipped)) >= 40


def test_renumbered_gold_counts_only_with_its_texts() -> None:
    """LawBench cites 公司法 by its pre-2024 numbers: the same provision under its new number counts only when
    the gold article's texts are given (bench and `--renumbered`), never by default."""
    text = "公司聘用、解聘承办公司审计业务的会计师事务所，依照公司章程的规定，由股东会决定。"
    item = EvalItem.model_validate({"question": "q", "gold": [{"law": "公司法", "article_no": 169}]})
    moved = Passage(id="公司法@2023#215", domain="legal", law="公司法", article_no=215, text=text)
    other = Passage(
        id="公司法@2023#1",
        domain="legal",
        law="公司法",
        article_no=1,
        text="为了规范公司的组织和行为，制定本法。",
    )
    assert not is_relevant(moved, item.gold)
    texts = {("公司法", 169): [text, "国家出资公司，由国务院代表国家依法履行出资人职责。"]}
    assert is_relevant(moved, item.gold, texts)
    assert not is_relevant(other, item.gold, texts)
