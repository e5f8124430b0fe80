"""Synonyms that hold only in one context (domain.yaml `context_synonyms`): 公司 is the employer (用人单位) in a
question about work, and only there. 「我骑共享单车的时候刹车失灵摔伤了，能找共享单车公司赔吗？」 was expanded with
用人单位 and answered from 劳动合同法第九十一条 (an employer poaching another's worker)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.domains import load_domain_file, load_domains
from assistant.errors import DomainError
from assistant.grounding.basis import judge_basis
from assistant.grounding.relevance import topic_words
from assistant.grounding.scope import vocabulary
from knowledge.types import Passage
from tests.assistant.test_domains_routing import _copy_domain

LEGAL = load_domains()["legal"]
BIKE = "我骑共享单车的时候刹车失灵摔伤了，能找共享单车公司赔吗？"
WAGES = "公司拖欠工资三个月了怎么办？"
POACHING = Passage(
    id="劳动合同法#91", domain="legal", law="劳动合同法", law_full="劳动合同法", article_no=91,
    article_label="第九十一条", kind="法律", score=0.49,
    text="用人单位招用与其他用人单位尚未解除或者终止劳动合同的劳动者，给其他用人单位造成损失的，应当承担连带赔偿责任。",
)  # fmt: skip


def test_a_context_synonym_applies_only_to_a_question_in_its_context() -> None:
    assert "用人单位" not in LEGAL.expand(BIKE)
    assert "用人单位" in LEGAL.expand(WAGES)
    assert "公司" not in LEGAL.synonyms_for(BIKE) and LEGAL.synonyms_for(WAGES)["公司"] == ["用人单位"]
    # whatever the question, the word stays in the domain's vocabulary (the legal core of a story)
    assert "公司" in vocabulary(LEGAL) and "用人单位" in vocabulary(LEGAL)


def test_an_employer_article_is_no_basis_for_a_question_about_another_kind_of_company() -> None:
    weights = {w: 4.0 if w in POACHING.text else 9.0 for w in topic_words(BIKE)}
    assert judge_basis(BIKE, [POACHING], LEGAL, weights).passages == []
    # the same article still answers a question about employers
    poach = "公司招了一个还没和原公司解除劳动合同的员工，原公司能要求赔偿吗？"
    weights = {w: 4.0 if w in POACHING.text else 9.0 for w in topic_words(poach)}
    assert POACHING in judge_basis(poach, [POACHING], LEGAL, weights).passages


def test_a_context_group_without_context_words_names_the_field(tmp_path: Path) -> None:
    folder = _copy_domain(
        tmp_path, "broken", context_synonyms=[{"when": [], "synonyms": {"公司": ["用人单位"]}}]
    )
    with pytest.raises(DomainError) as err:
        load_domain_file(folder / "domain.yaml")
    assert "domain.yaml" in str(err.value) and "context_synonyms.0.when" in str(err.value)
    data = yaml.safe_load((folder / "domain.yaml").read_text(encoding="utf-8"))
    assert data["context_synonyms"][0]["synonyms"] == {"公司": ["用人单位"]}


def test_a_deposit_is_an_employer_taking_property_only_at_work() -> None:
    """劳动合同法第九条 forbids an employer to take 押金 (担保, 以其他名义收取财物); a landlord's deposit is returned."""
    assert "收取财物" in LEGAL.expand("入职时公司要求交押金合法吗？")
    assert "收取财物" not in LEGAL.expand("房东不退押金怎么办？")


def test_everyday_names_reach_the_statutes_wording() -> None:
    assert "解除或者终止劳动合同的证明" in LEGAL.expand("公司不给开离职证明怎么办？")
    assert "维修" in LEGAL.expand("租的房子漏水了房东不管怎么办？")
    assert "物业服务人" in LEGAL.expand("物业乱收费怎么办？")
    assert "届满" in LEGAL.expand("租房合同到期了还继续住，原来的合同还算数吗？")
    assert "赔偿金" in LEGAL.expand("公司违法辞退员工要赔多少钱？")
    assert "裁减人员" in LEGAL.expand("公司经济性裁员需要提前多久通知？")
