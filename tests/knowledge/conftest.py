"""Fixtures for knowledge tests: tiny embedder settings and small statute files written on the fly."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.config import KnowledgeConfig

# An embedder that trains in about a second: tests check behaviour, not embedding quality.
TINY = {
    "embedder": {"kind": "static_trained", "dim": 16, "max_pairs": 400, "batch_size": 32, "max_seconds": 2}
}


def tiny_config(**extra) -> KnowledgeConfig:
    """KnowledgeConfig with the tiny embedder (plus overrides)."""
    return KnowledgeConfig.model_validate({**TINY, **extra})


LABOUR_V1 = """# 中华人民共和国测试劳动法

2010年1月1日 第一次会议通过

<!-- INFO END -->

## 第一章 总则

第一条 为了保护劳动者的合法权益，制定本法。

第二条 用人单位应当按时足额支付劳动报酬。

用人单位拖欠劳动报酬的，劳动者可以申请支付令。

## 第二章 解除

第三条 用人单位未依法缴纳社会保险费的，劳动者可以解除劳动合同。

第十一条 经济补偿按劳动者在本单位工作的年限，每满一年支付一个月工资。
"""

LABOUR_V2 = LABOUR_V1.replace(
    "2010年1月1日 第一次会议通过", "2010年1月1日 第一次会议通过\n\n2020年6月30日 第二次会议修正"
).replace("每满一年支付一个月工资。", "每满一年支付一个半月工资。")

MEDICAL = """# 测试医疗纠纷处理条例

2018年7月31日 国务院令公布

<!-- INFO END -->

## 第一章 总则

第一条 医务人员在诊疗活动中应当向患者说明病情和医疗措施。

第二条 患者有权查阅、复制其门诊病历和住院志。
"""


@pytest.fixture
def laws_dir(tmp_path: Path) -> Path:
    """A folder with two small statutes (one legal, one medical)."""
    d = tmp_path / "laws"
    d.mkdir()
    (d / "测试劳动法(2010-01-01).md").write_text(LABOUR_V1, encoding="utf-8")
    (d / "测试医疗纠纷处理条例.md").write_text(MEDICAL, encoding="utf-8")
    return d
