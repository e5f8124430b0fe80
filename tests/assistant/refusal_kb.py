"""A real small knowledge base for the tests of safety's pipeline step: the starter KB plus four real articles
of 中华人民共和国刑法 and two real passages of the 2025 flu guideline (one home also without 刑法)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.assistant.conftest import TINY_YAML

# Four real articles of 中华人民共和国刑法 (2023 text, verbatim first paragraphs) — enough for the KB to hold
# what forbids making/selling drugs, growing drug plants, guns/explosives and murder.
CRIMINAL_LAW = """# 中华人民共和国刑法

<!-- INFO END -->

## 第二章 危害公共安全罪

第一百二十五条 非法制造、买卖、运输、邮寄、储存枪支、弹药、爆炸物的，处三年以上十年以下有期徒刑；情节严重的，处十年以上有期徒刑、无期徒刑或者死刑。

## 第四章 侵犯公民人身权利、民主权利罪

第二百三十二条 故意杀人的，处死刑、无期徒刑或者十年以上有期徒刑；情节较轻的，处三年以上十年以下有期徒刑。

## 第六章 妨害社会管理秩序罪

第三百四十七条 走私、贩卖、运输、制造毒品，无论数量多少，都应当追究刑事责任，予以刑事处罚。

第三百五十一条 非法种植罂粟、大麻等毒品原植物的，一律强制铲除。有下列情形之一的，处五年以下有期徒刑、拘役或者管制，并处罚金：
"""

# Two real passages of 流行性感冒诊疗方案（2025年版）: the diagnosis criteria (确诊) and the oseltamivir doses.
FLU_TITLE = "流行性感冒诊疗方案（2025年版）"
FLU_GUIDE = [
    {
        "title": FLU_TITLE,
        "section": "六、诊断 > （二）确诊病例",
        "sections": ["六、诊断", "六、诊断 > （二）确诊病例"],
        "text": "（二）确诊病例\n有上述流感临床表现，具有以下一种或以上病原学检测结果阳性：流感病毒核酸检测阳性；"
        "流感抗原检测阳性；流感病毒培养分离阳性。病原学检测阳性即可确诊。",
        "domain": "medical",
    },
    {
        "title": FLU_TITLE,
        "section": "十、治疗 > （三）抗病毒治疗",
        "sections": ["十、治疗", "十、治疗 > （三）抗病毒治疗"],
        "text": "奥司他韦：成人剂量每次 75mg，每日 2 次。1 岁及以上年龄儿童推荐剂量：体重≤15kg，每次 30mg；"
        "15kg＜体重≤23kg，每次 45mg；23kg＜体重≤40kg 者，每次 60mg；＞40kg 者，每次 75mg。"
        "上述均为每日 2 次，疗程 5 天。发病 48 小时内进行抗病毒治疗获益最大。",
        "domain": "medical",
    },
]


def build_home(root: Path, *, with_criminal_law: bool) -> Path:
    from assistant.config import load_config
    from knowledge.kb import KnowledgeBase

    home = root / ("home_law" if with_criminal_law else "home_plain")
    home.mkdir(parents=True)
    (home / "yiju.yaml").write_text(TINY_YAML, encoding="utf-8")
    src = root / ("src_law" if with_criminal_law else "src_plain")
    src.mkdir()
    (src / "guide.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in FLU_GUIDE) + "\n", encoding="utf-8"
    )
    if with_criminal_law:
        (src / "刑法(2023-12-29).md").write_text(CRIMINAL_LAW, encoding="utf-8")
    kb = KnowledgeBase.open(home, load_config(None, home).knowledge_config())
    assert not kb.import_starter().errors
    report = kb.import_path(src, progress=False)
    assert not report.errors, report.errors
    kb.close()
    return home


@contextmanager
def open_pipelines(homes: dict[str, Path]) -> Iterator[dict[str, object]]:
    """A Pipeline per home, closed (with its knowledge base and audit store) afterwards."""
    from assistant.pipeline import Pipeline

    built = {name: Pipeline.from_home(home) for name, home in homes.items()}
    try:
        yield built
    finally:
        for p in built.values():
            p.close()
            p.kb.close()
            p.audit.close()
