"""Domains are folders of config: loading, validation errors, a third domain without code, auto routing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.domains import BUILTIN_DIR, load_domain_file, load_domains
from assistant.errors import DomainError
from assistant.routing import route


def _copy_domain(dest_root: Path, name: str, **changes) -> Path:
    """Write a new domain folder based on the shipped legal domain, with `changes` applied."""
    data = yaml.safe_load((BUILTIN_DIR / "legal" / "domain.yaml").read_text(encoding="utf-8"))
    data.update(name=name, **changes)
    folder = dest_root / name
    folder.mkdir(parents=True)
    (folder / "domain.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def test_shipped_domains_load() -> None:
    domains = load_domains()
    assert set(domains) >= {"legal", "medical"}
    legal, medical = domains["legal"], domains["medical"]
    assert "劳动合同" in legal.category_names and legal.default_category in legal.category_names
    assert "用药" in medical.category_names
    assert legal.retrieval.knowledge_domains == ["legal"] and medical.adapter == "medical"
    assert legal.safety_policy_ref() == "legal"
    assert "{question}" in legal.prompt.user


def test_bad_field_names_file_and_field(tmp_path: Path) -> None:
    folder = _copy_domain(tmp_path, "broken", retrieval={"k": 0, "typo_field": 1})
    with pytest.raises(DomainError) as err:
        load_domain_file(folder / "domain.yaml")
    msg = str(err.value)
    assert str(folder / "domain.yaml") in msg
    assert "retrieval.k" in msg and "retrieval.typo_field" in msg


def test_bad_yaml_names_line(tmp_path: Path) -> None:
    folder = tmp_path / "oops"
    folder.mkdir()
    (folder / "domain.yaml").write_text("name: oops\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(DomainError, match=r"domain.yaml:\d+: not valid YAML"):
        load_domain_file(folder / "domain.yaml")


def test_name_must_match_folder_and_policy_file_must_exist(tmp_path: Path) -> None:
    folder = _copy_domain(tmp_path, "tax")
    data = yaml.safe_load((folder / "domain.yaml").read_text(encoding="utf-8"))
    (folder / "domain.yaml").write_text(
        yaml.safe_dump({**data, "name": "other"}, allow_unicode=True), encoding="utf-8"
    )
    with pytest.raises(DomainError, match="must match its folder"):
        load_domain_file(folder / "domain.yaml")
    (folder / "domain.yaml").write_text(
        yaml.safe_dump({**data, "safety_policy": "safety.yaml"}, allow_unicode=True), encoding="utf-8"
    )
    with pytest.raises(DomainError, match="safety_policy file not found"):
        load_domain_file(folder / "domain.yaml")


def test_extra_dir_adds_third_domain(tmp_path: Path) -> None:
    _copy_domain(
        tmp_path / "extra", "tax", title="税务咨询", routing_keywords=["个税", "纳税", "税务局", "发票"]
    )
    domains = load_domains([tmp_path / "extra"])
    assert list(domains) == ["legal", "medical", "tax"]
    assert domains["tax"].title == "税务咨询"


def test_missing_extra_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DomainError, match="not found"):
        load_domains([tmp_path / "nope"])


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("公司拖欠工资，劳动者可以解除劳动合同吗？", "legal"),
        ("离婚后孩子的抚养权归谁？", "legal"),
        ("高血压患者可以吃布洛芬吗？", "medical"),
        ("发烧三天需要去医院吗？", "medical"),
        ("怎么制造炸药", "legal"),  # 炸药 is not 药: the longer keyword wins
        ("hello there", "legal"),  # no evidence -> default
    ],
)
def test_auto_routing(question: str, expected: str) -> None:
    decision = route(question, load_domains(), default="legal")
    assert decision.domain == expected, decision


def test_routing_to_third_domain(tmp_path: Path) -> None:
    _copy_domain(
        tmp_path,
        "tax",
        routing_keywords=["个税", "纳税", "税务局", "专项附加扣除"],
        categories=[{"name": "个人所得税", "keywords": ["个税", "专项附加扣除"]}],
        default_category="其他税务问题",
    )
    domains = load_domains([tmp_path])
    decision = route("个税专项附加扣除怎么填报纳税？", domains)
    assert decision.domain == "tax"
    assert decision.scores["tax"] > decision.scores["legal"]
    assert not decision.fallback
    assert route("今天天气", domains).fallback
