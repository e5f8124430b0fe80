"""PII masking."""

from __future__ import annotations

import pytest

from safety.pii import contains_pii, mask_pii

# ------------------------------------------------------------------------------------------------ PII


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        ("身份证号110101199003071234", "110101199003071234", "[身份证号]"),
        ("身份证 11010119900307123x 已提交", "11010119900307123x", "[身份证号]"),
        # 15 digits, no century: 000229 is only a day read as 2000 (the generated-forms test found it unmasked)
        ("老身份证110101000229000还能用吗", "110101000229000", "[身份证号]"),
        ("电话13812345678", "13812345678", "138****5678"),
        ("手机 +86 139-1234-5678", "1234", "139****5678"),
        ("患者张三主诉头痛", "张三", "患者张某主诉头痛"),
        ("当事人李小明向法院起诉", "李小明", "当事人李某向法院起诉"),
        ("患者：王芳，女，45岁", "王芳", "患者：王某，女"),
        # 罗兰 is also a place name in jieba's dictionary (ns): the generated-forms test found it unmasked
        ("我叫罗兰，公司拖欠工资怎么办？", "罗兰", "我叫罗某，"),
        ("患者罗兰，孩子发烧怎么办", "罗兰", "患者罗某，"),
    ],
)
def test_pii_is_masked(text: str, gone: str, kept: str) -> None:
    out = mask_pii(text)
    assert gone not in out
    assert kept in out
    assert mask_pii(out) == out  # idempotent: stored copies can be masked again on export


@pytest.mark.parametrize(
    "text",
    [
        "当事人向人民法院提起诉讼",
        "患者有权知悉病情",
        "患者黄疸加重",
        "患者应当遵医嘱",
        "全国心理援助热线 400-161-9995，北京 010-82951332",
        "订单号 123456789012345678901",
        "第一千一百六十五条",
    ],
)
def test_pii_masking_leaves_ordinary_text_alone(text: str) -> None:
    assert mask_pii(text) == text


def test_pii_switches_and_detection() -> None:
    text = "患者张三 13812345678 110101199003071234"
    assert mask_pii(text, names=False).startswith("患者张三")
    assert "13812345678" in mask_pii(text, phones=False)
    assert "110101199003071234" in mask_pii(text, id_cards=False)
    assert contains_pii(text) and not contains_pii(mask_pii(text))
