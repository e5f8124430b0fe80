"""Property: after grounding, no key point names an article or section that is absent from 【依据】.

Answers are generated from a pool of retrieved-looking passages whose titles take every awkward form
(nested 《》 and 〈〉, 之一 articles, guideline sections) and citations written every way a generator
might (《中华人民共和国…》, Arabic numbers, bare names, 、-joined articles, invented numbers and laws).
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.grounding import find_refs, ground, normalize_law
from knowledge.numerals import int_to_cn
from knowledge.types import Passage
from safety.types import Answer, Citation

PLA = "中国人民解放军实施《药品管理法》办法"
FLU = "流行性感冒诊疗方案（2025年版）"


def _article(law: str, no: int, sub: int | None = None) -> Passage:
    label = f"第{int_to_cn(no)}条" + (f"之{int_to_cn(sub)}" if sub else "")
    return Passage(
        id=f"{law}@2020-01-01#{no}" + (f"-{sub}" if sub else ""), domain="legal", law=law, law_full=law,
        article_no=no, article_label=label, text=f"{law}{label}的条文内容，规定了相应的权利义务。",
        version="2020-01-01",
    )  # fmt: skip


GUIDELINES = "section" in Passage.model_fields  # the data model carries guideline sections


def _section(path: str) -> Passage:
    return Passage.model_validate(
        dict(
            id=f"{FLU}@#p{abs(hash(path)) % 1000}", domain="medical", law=FLU, law_full=FLU, text=f"{path}的内容。",
            section=path, sections=[path], kind="指南",
        )
    )  # fmt: skip


POOL = [
    _article("劳动合同法", 46),
    _article("劳动合同法", 47),
    _article("刑法", 120),
    _article("刑法", 120, 1),
    _article(PLA, 56),
    _article("民法典", 1165),
]
if GUIDELINES:
    POOL += [_section("四、临床表现 > （一）临床表现"), _section("十、治疗 > （三）抗病毒治疗")]

# (target key, ways to write it). A key is (normalised law, article_no, sub, section).
Target = tuple[str, int | None, int | None, str]
TARGETS: list[tuple[Target, list[str]]] = [
    (("劳动合同法", 46, None, ""), ["《劳动合同法》第四十六条", "《中华人民共和国劳动合同法》第46条", "劳动合同法第四十六条"]),
    (("劳动合同法", 47, None, ""), ["《劳动合同法》第四十七条", "依照劳动合同法第47条"]),
    (("劳动合同法", 99, None, ""), ["《劳动合同法》第九十九条", "劳动合同法第九十九条"]),
    (("刑法", 120, None, ""), ["《刑法》第一百二十条"]),
    (("刑法", 120, 1, ""), ["《刑法》第一百二十条之一", "《中华人民共和国刑法》第120条之一"]),
    (("刑法", 120, 2, ""), ["《刑法》第一百二十条之二"]),
    (("中国人民解放军实施药品管理法办法", 56, None, ""), [f"《{PLA}》第五十六条", "《中国人民解放军实施〈药品管理法〉办法》第56条"]),
    (("中国人民解放军实施药品管理法办法", 57, None, ""), [f"《{PLA}》第五十七条"]),
    (("民法典", 1165, None, ""), ["《民法典》第一千一百六十五条", "民法典第1165条"]),
    (("不存在法", 1, None, ""), ["《不存在法》第一条"]),
]  # fmt: skip
if GUIDELINES:
    TARGETS += [
        ((normalize_law(FLU), None, None, "四、临床表现"), [f"《{FLU}》四、临床表现"]),
        (
            (normalize_law(FLU), None, None, "十、治疗>（三）抗病毒治疗"),
            [f"《{FLU}》十、治疗 > （三）抗病毒治疗"],
        ),
        ((normalize_law(FLU), None, None, "五、实验室检查"), [f"《{FLU}》五、实验室检查"]),
    ]

FILLER = st.sampled_from(
    ["用人单位应当", "依法", "劳动者可以主张", "，", "。", "（", "）", "另外", "患者应及时就医", ""]
)
mention = st.sampled_from([(t, w) for t, ways in TARGETS for w in ways])
point = st.lists(st.tuples(FILLER, mention, FILLER), min_size=1, max_size=3)


def _cited(answer: Answer) -> set[Target]:
    out: set[Target] = set()
    for c in answer.citations:
        sub = re.search(r"之([一二三])", c.article_label)
        out.add(
            (normalize_law(c.law), c.article_no, "一二三".index(sub.group(1)) + 1 if sub else None, c.section)
        )
    return out


def _named(target: Target, cited: set[Target]) -> bool:
    law, no, sub, section = target
    for c_law, c_no, c_sub, c_section in cited:
        if c_law != law:
            continue
        if no is not None and (c_no, c_sub) == (no, sub):
            return True
        if section and c_section:
            a, b = section.replace(" ", ""), c_section.replace(" ", "")
            if a == b or b.startswith(a + ">") or a.startswith(b + ">"):
                return True
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    basis_mask=st.lists(st.booleans(), min_size=len(POOL), max_size=len(POOL)),
    listed=st.lists(mention, max_size=4),
    points=st.lists(point, min_size=1, max_size=4),
)
def test_no_point_names_what_basis_lacks(basis_mask, listed, points) -> None:
    basis = [p for p, keep in zip(POOL, basis_mask, strict=True) if keep] or POOL[:1]
    citations = []
    for (law, no, sub, section), _ in listed:
        label = f"第{int_to_cn(no)}条" + (f"之{int_to_cn(sub)}" if sub else "") if no else ""
        citations.append(
            Citation(
                law=law if law != "中国人民解放军实施药品管理法办法" else PLA,
                article_no=no,
                article_label=label,
                section=section,
            )
        )
    texts = ["".join(a + w + b for a, (_, w), b in pt) for pt in points]
    result = ground(Answer(category="测试", points=texts, citations=citations), basis)
    shown = result.answer
    # Every 【依据】 entry is a retrieved passage, verbatim.
    by_id = {p.id: p for p in basis}
    assert all(c.passage_id in by_id and c.text == by_id[c.passage_id].text for c in shown.citations)
    cited = _cited(shown)
    # Oracle: every way of writing a target that is still in a point names something in 【依据】.
    for text in shown.points:
        for target, ways in TARGETS:
            for w in ways:
                if re.search(re.escape(w) + r"(?!\s*之|\d|[零一二三四五六七八九十百千])", text):
                    assert _named(target, cited), (w, text, cited)
    # …and so does every reference the finder sees (told the cited sections, as grounding is).
    sections: dict[str, list[str]] = {}
    for law, _, _, sec in cited:
        sections.setdefault(law, []).append(sec)
    for text in shown.points:
        for ref in find_refs(text, sections):
            if ref.self_reference:
                continue
            assert not ref.section_unknown, (ref, text, cited)
            names = ref.names()  # a bare name in prose may carry words before it
            assert any(_named((n, ref.article_no, ref.sub, ref.section), cited) for n in names), (ref, text)
