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


# ---------------------------------------------------------------------- routing dev set and confidence
ROUTING_DEV = Path(__file__).parent / "data" / "routing_dev.jsonl"


def _routing_dev() -> list[dict]:
    import json

    return [json.loads(line) for line in ROUTING_DEV.read_text(encoding="utf-8").splitlines() if line]


def test_routing_dev_set_is_large_and_balanced() -> None:
    rows = _routing_dev()
    assert len(rows) >= 100
    by_domain = {d: sum(1 for r in rows if r["domain"] == d) for d in ("legal", "medical")}
    assert min(by_domain.values()) >= 40, by_domain
    assert len({r["question"] for r in rows}) == len(rows), "duplicate questions"
    # The dev set is not the training data: no question appears in a domain's routing_examples.txt.
    from assistant.routing import read_examples

    trained = {q for spec in load_domains().values() for q in read_examples(spec.folder)}
    assert not {r["question"].rstrip("？?") for r in rows} & {q.rstrip("？?") for q in trained}


def test_routing_dev_set_accuracy_at_least_95_percent() -> None:
    domains = load_domains()
    rows = _routing_dev()
    wrong = [
        (r["question"], r["domain"])
        for r in rows
        if route(r["question"], domains, "legal").domain != r["domain"]
    ]
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= 0.95, f"routing accuracy {accuracy:.3f}; misses: {wrong}"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("被狗咬了要打狂犬疫苗吗？", "medical"),  # issue 9/12: was legal (狗咬 was a legal keyword)
        ("邻居家的狗把我咬了，狗主人要赔偿吗？", "legal"),
        ("怀孕了公司要辞退我合法吗？", "legal"),  # pregnancy words, a dismissal question
        ("医疗事故可以起诉医院要求赔偿吗？", "legal"),  # a medical dispute about compensation
        ("和医院发生医疗纠纷有哪些解决途径？", "medical"),  # …and one about the procedure
    ],
)
def test_routing_traps(question: str, expected: str) -> None:
    decision = route(question, load_domains(), default="legal")
    assert decision.domain == expected, decision


def test_route_reports_confidence_and_alternatives() -> None:
    domains = load_domains()
    clear = route("高血压可以停药吗？", domains, "legal")
    assert clear.domain == "medical" and clear.confidence >= 0.9 and not clear.unsure
    assert clear.alternatives() == ["legal"]
    assert abs(sum(clear.probabilities.values()) - 1) < 1e-3
    vague = route("疫苗出了问题能赔偿吗", domains, "legal")  # both domains' words: say so, offer the other
    assert vague.unsure and 0.5 <= vague.confidence < 0.8
    nothing = route("hello there", domains, "legal")
    assert nothing.fallback and nothing.unsure and nothing.domain == "legal"


def test_domain_examples_file_trains_the_model(tmp_path: Path) -> None:
    """A third domain's routing_examples.txt teaches the router questions its keywords do not name."""
    folder = _copy_domain(
        tmp_path,
        "tax",
        routing_keywords=["个税", "纳税"],
        categories=[{"name": "个人所得税", "keywords": ["个税"]}],
        default_category="其他税务问题",
    )
    question = "年终奖怎么计算扣多少"
    before = route(question, load_domains([tmp_path]), "legal")
    assert before.domain != "tax"
    lines = [
        "# tax questions",
        *(
            "工资薪金要扣多少钱 年终奖单独计税划算吗 房贷利息可以抵扣吗 发票怎么开具 专项附加扣除怎么填 "
            "劳务报酬怎么扣款 稿费收入怎么计算 汇算清缴要退多少 年终奖要交多少 奖金扣款比例是多少 "
            "兼职收入要报吗 退款什么时候到账 子女教育可以扣多少 租房可以抵扣吗 赡养老人扣除标准 "
            "年收入十万要交多少 多处收入怎么合并计算 补扣怎么办 扣缴义务人是谁 怎么计算应纳额"
        ).split(),
    ]
    (folder / "routing_examples.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    after = route(question, load_domains([tmp_path]), "legal")
    assert after.domain == "tax", after


def test_synonyms_expand_whole_words_only() -> None:
    """保险公司 is not an employer (公司 -> 用人单位 must not fire inside it); 拖欠工资 still means 工资."""
    from assistant.domains import load_domains

    legal = load_domains()["legal"]
    assert "用人单位" not in legal.expand("交通事故后保险公司拒绝理赔怎么办")
    assert "用人单位" not in legal.expand("分公司可以独立签合同吗")
    assert "用人单位" in legal.expand("公司不续签劳动合同有补偿吗")
    assert "劳动报酬" in legal.expand("老板拖欠工资怎么办")
    assert legal.expand("与本领域无关的一句话") == "与本领域无关的一句话"
