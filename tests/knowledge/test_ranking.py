"""The learned ranker: profiles, candidate features, and what the features change on a small corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from knowledge.kb import KnowledgeBase
from knowledge.ranking import FEATURES, KINDS, Profile, is_purpose_clause, load_profiles, pick_profile
from tests.knowledge.conftest import tiny_config

GUIDE_ROWS = [
    {
        "title": "测试流感诊疗方案",
        "section": "四、临床表现",
        "sections": ["四、临床表现"],
        "text": "潜伏期一般为1～7天。主要以发热、头痛、肌痛和全身不适起病。",
    },
    {
        "title": "测试流感诊疗方案",
        "section": "十、治疗 > （三）抗病毒治疗",
        "sections": ["十、治疗 > （三）抗病毒治疗"],
        "text": "发病48小时内进行抗病毒治疗可减少并发症。",
    },
    {
        "title": "测试流感诊疗方案",
        "section": "二、流行病学 > （二）传播途径",
        "sections": ["二、流行病学 > （二）传播途径"],
        "text": "主要通过打喷嚏和咳嗽等飞沫传播。",
    },
]


def _profile(weights: dict[str, float], name: str = "legal") -> Profile:
    feats = tuple(weights)
    return Profile(
        name, feats, np.zeros(len(feats)), np.ones(len(feats)), np.array(list(weights.values())), 0.0
    )


def test_profile_json_round_trip_and_unknown_feature(tmp_path: Path) -> None:
    p = _profile({"word_bm25": 1.0, "kind_法律": 0.5})
    back = Profile.from_json("legal", json.loads(json.dumps(p.to_json())))
    x = np.zeros((2, len(FEATURES)), dtype=np.float32)
    x[0, FEATURES.index("kind_法律")] = 1.0
    assert back.score(x).tolist() == pytest.approx([1 / (1 + np.exp(-0.5)), 0.5])
    with pytest.raises(ValueError, match="unknown features"):
        Profile.from_json("bad", {**p.to_json(), "features": ["nonsense", "kind_法律"]})
    f = tmp_path / "w.json"
    f.write_text(json.dumps({"profiles": {"legal": p.to_json(), "medical": p.to_json()}}), encoding="utf-8")
    profiles = load_profiles(str(f))
    assert pick_profile(profiles, "medical").name == "medical"
    assert pick_profile(profiles, "unknown-domain").name == "legal"  # the default profile
    assert pick_profile({}, "legal") is None


def test_shipped_weights_cover_every_profile_feature() -> None:
    profiles = load_profiles()
    assert {"legal", "medical"} <= set(profiles)
    for p in profiles.values():
        assert len(p.features) == len(p.coef) == len(p.mean) == len(p.scale)
    # the medical profile must not learn that statutes never answer (clinic questions need 医师法 …)
    assert not any(f.startswith("kind_") for f in profiles["medical"].features)


def test_gap_features_are_relative_to_the_questions_best_candidate() -> None:
    """dense_gap / coverage_gap / focus_gap: 0 for the best candidate, negative for the others, whatever the
    absolute level of the question's scores."""
    from scipy import sparse

    from knowledge.ranking import QueryScores, candidate_features

    n = 3
    csr = sparse.csr_matrix(np.array([[1, 1], [1, 0], [0, 0]], dtype=np.float32))
    qs = QueryScores(
        word=np.array([2.0, 1.0, 0.5], dtype=np.float32),
        bigram=np.array([1.0, 1.0, 1.0], dtype=np.float32),
        heading=np.zeros(n, dtype=np.float32),
        dense={0: 0.30, 1: 0.50, 2: 0.10},
        gram_cols=np.array([0, 1]),
        focus_cols=np.zeros(0, dtype=np.int64),
    )
    x = candidate_features(
        np.arange(n),
        qs,
        np.ones(n, dtype=bool),
        law_idx=np.zeros(n, dtype=np.int32),
        kinds=np.zeros(n, dtype=np.int64),
        log_length=np.zeros(n, dtype=np.float32),
        purpose=np.zeros(n, dtype=bool),
        bigram_csr=csr,
        bigram_idf=np.ones(2, dtype=np.float32),
    )
    dense_gap = x[:, FEATURES.index("dense_gap")]
    assert np.allclose(dense_gap, [-0.2, 0.0, -0.4])
    assert np.allclose(x[:, FEATURES.index("coverage_gap")], [0.0, -0.5, -1.0])
    # one-sentence question: the asking sentence is the whole question
    assert np.allclose(x[:, FEATURES.index("focus_gap")], x[:, FEATURES.index("coverage_gap")])


def test_purpose_clause() -> None:
    assert is_purpose_clause("为了保护劳动者的合法权益，根据宪法，制定本法。")
    assert not is_purpose_clause("用人单位应当按时足额支付劳动报酬。")


@pytest.fixture(scope="module")
def guide_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    home = tmp_path_factory.mktemp("rank") / "home"
    src = home.parent / "guide.jsonl"
    src.write_text(
        "\n".join(
            json.dumps({**r, "chapter": r["section"], "domain": "medical"}, ensure_ascii=False)
            for r in GUIDE_ROWS
        )
        + "\n",
        encoding="utf-8",
    )
    kb = KnowledgeBase.open(home, tiny_config())
    report = kb.import_path(src, progress=False)
    assert not report.errors
    yield kb
    kb.close()


def test_heading_field_finds_a_section_whose_text_does_not_name_it(guide_kb: KnowledgeBase) -> None:
    """流感有哪些临床表现: the heading holds 临床表现, the body text only lists symptoms."""
    hits = guide_kb.retrieve("测试流感有哪些临床表现？", k=1, domain="medical")
    assert hits and "四、临床表现" in (getattr(hits[0], "section", "") or hits[0].chapter)


def test_fusion_ranker_is_still_selectable(guide_kb: KnowledgeBase) -> None:
    fused = KnowledgeBase.open(guide_kb.home, tiny_config(retrieval={"ranker": "fusion"}))
    try:
        assert fused.snapshot().rank_data is None
        assert fused.retrieve("抗病毒治疗", k=1)[0].text.startswith("发病48小时内")
    finally:
        fused.close()


def test_kind_weight_puts_the_law_above_its_interpretation(tmp_path: Path) -> None:
    """Same words in a 法律 article and a 司法解释 article: a profile that weighs the kind decides."""
    from knowledge.types import Passage

    if "kind" not in Passage.model_fields:
        pytest.skip("Passage.kind not in this data model yet")
    src = tmp_path / "laws"
    (src / "社会法").mkdir(parents=True)
    (src / "司法解释").mkdir(parents=True)
    body = "<!-- INFO END -->\n\n第一条 用人单位未依法缴纳社会保险费的，劳动者可以解除劳动合同。\n"
    (src / "社会法" / "测试劳动法(2010-01-01).md").write_text("# 测试劳动法\n\n" + body, encoding="utf-8")
    (src / "司法解释" / "测试劳动解释(2012-01-01).md").write_text(
        "# 测试劳动解释\n\n" + body, encoding="utf-8"
    )
    weights = tmp_path / "w.json"
    for sign, first in ((1.0, "测试劳动法"), (-1.0, "测试劳动解释")):
        p = _profile({"word_bm25": 1.0, "kind_法律": sign, "kind_司法解释": -sign})
        weights.write_text(
            json.dumps({"profiles": {"legal": p.to_json()}}, ensure_ascii=False), encoding="utf-8"
        )
        load_profiles.cache_clear()
        kb = KnowledgeBase.open(
            tmp_path / f"home{sign}", tiny_config(retrieval={"ranker_weights": str(weights)})
        )
        try:
            kb.import_path(src, progress=False)
            assert kb.retrieve("没缴社会保险费可以解除劳动合同吗", k=2)[0].law == first
            assert KINDS[kb.snapshot().rank_data.kinds.max()] in KINDS
        finally:
            kb.close()
    load_profiles.cache_clear()
