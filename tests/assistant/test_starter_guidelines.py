"""The starter knowledge base answers a medical question from a guideline section (issue 9 item 4, make demo)."""

from __future__ import annotations


def test_starter_guideline_answers_a_dog_bite_question(make_pipeline, kb, audit) -> None:
    r = make_pipeline().ask("被狗咬伤了，伤口应该怎么处理？要打疫苗吗？")
    assert r.domain == "medical" and r.status == "answered", r
    sections = {(c.law, c.section) for c in r.citations}
    assert ("狂犬病暴露预防处置要点（示例）", "三、伤口处置") in sections, r.citations
    assert any("流动清水" in pt for pt in r.points)
    assert "《狂犬病暴露预防处置要点（示例）》三、伤口处置" in r.rendered
    retrieved = audit.get(r.turn_id)["retrieved"]
    assert retrieved and all(item["origin"] == "official" for item in retrieved)


def test_starter_guideline_passages_are_marked_samples(kb) -> None:
    (flu,) = [
        p for p in kb.retrieve("流感 抗病毒 48小时", domain="medical", k=3) if p.law.startswith("流行性感冒")
    ][:1]
    assert flu.sample and flu.kind == "指南" and flu.section == "二、治疗 > （一）抗病毒治疗"
    assert "非原文" in flu.source_info
    infos = {x.law: x for x in kb.laws(kind="指南")}
    assert set(infos) == {"流行性感冒诊疗要点（示例）", "狂犬病暴露预防处置要点（示例）"}
