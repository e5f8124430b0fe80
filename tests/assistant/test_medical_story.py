"""Patient questions tell a story (issue 9, session 5): who asks and when (我爸, 去年, 十几年, 有点) must not
decide what a question is about, and a section written for other patients (透析患者) is no answer."""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.grounding.basis import judge_basis
from assistant.grounding.subject import fits_subject, for_other_patients, is_narrative, subject_weights
from knowledge.types import Passage

DOMAINS = load_domains()
MEDICAL = DOMAINS["medical"]
LEGAL = DOMAINS["legal"]
LITERACY = "中国公民健康素养——基本知识与技能释义（2024年版）"


def _guide(title: str, section: str, text: str) -> Passage:
    return Passage(
        id=f"{title}#{section}", domain="medical", law=title, law_full=title, text=text, section=section,
        sections=[section], kind="指南", score=0.5,
    )  # fmt: skip


BONES = _guide(
    LITERACY, "一、基本知识和理念 > 20. 预防骨质疏松症。",
    "20. 预防骨质疏松症。骨质疏松症是一种以骨量低下、骨组织微结构损坏为特征的全身性骨病，易发生骨折。"
    "预防骨质疏松症应均衡膳食，适量运动。",
)  # fmt: skip
DIALYSIS_STROKE = _guide(
    "血液净化标准操作规程（2021版）", "第四篇 > 第 24 章 血液透析患者脑卒中的诊治 > 一、临床表现",
    "患者突然出现一侧肢体无力或麻木、口角歪斜、说话不清时应考虑脑卒中的可能。",
)  # fmt: skip

# corpus IDF of the words (9.0 = no document uses the word)
CORPUS = {"爸": 9.0, "最近": 7.0, "骨头": 9.0, "越来越": 8.7, "脆": 9.0, "摔": 9.0, "预防": 3.8, "骨质": 7.5,
          "疏松": 7.8, "骨折": 6.7, "骨骼": 6.0, "跌倒": 6.5, "发烧": 9.0, "发热": 4.0, "生锈": 9.0, "痛风": 9.0}  # fmt: skip


def _term_weights(words: list[str]) -> dict[str, float]:
    return {w: CORPUS.get(w, 9.0) for w in words}


def test_who_and_when_are_narrative_what_is_not() -> None:
    extra = set(MEDICAL.retrieval.narrative_words)
    for word in ["爸", "老公", "有点", "去年", "早上", "十几年", "5个月", "一个多", "58岁", "越来越"]:
        assert is_narrative(word, extra), word
    for word in ["骨质", "血压", "孩子", "宝宝", "老人", "疫苗", "三倍", "晕", "口"]:
        assert not is_narrative(word, extra), word


def test_a_story_weighs_by_its_subject_in_the_medical_domain_only() -> None:
    words = ["爸", "发烧", "生锈", "痛风", "骨质"]
    weights = subject_weights(words, _term_weights(words), MEDICAL, _term_weights)
    assert weights["爸"] == 0.0  # who asks: never owed
    assert weights["发烧"] == 4.0  # an everyday word weighs its clinical wording (发热)
    assert weights["生锈"] == 4.5  # an everyday verb no document uses: half the maximum
    assert weights["痛风"] == 9.0  # an absent NOUN keeps the maximum: a subject the KB lacks
    assert weights["骨质"] == 7.5
    assert subject_weights(words, _term_weights(words), LEGAL, _term_weights) == _term_weights(words)


def test_a_patients_story_is_answered_from_the_section_on_its_subject() -> None:
    question = "我爸最近骨头越来越脆，轻轻摔一下就骨折，怎么预防骨质疏松？"
    from assistant.grounding.relevance import topic_words

    words = topic_words(question)
    raw = _term_weights(words)
    # Before: 爸, 骨头, 脆 … (no document uses them) were taken for the question's subject → 〔无依据〕.
    assert judge_basis(question, [BONES], MEDICAL, raw).passages == []
    weighed = subject_weights(words, raw, MEDICAL, _term_weights)
    assert judge_basis(question, [BONES], MEDICAL, weighed).passages == [BONES]


def test_a_section_for_dialysis_patients_answers_only_a_question_about_them() -> None:
    assert for_other_patients("怎样快速识别有人中风了？", DIALYSIS_STROKE)
    assert not fits_subject("怎样快速识别有人中风了？", DIALYSIS_STROKE)
    assert fits_subject("血液透析的病人中风了有什么表现？", DIALYSIS_STROKE)
    assert fits_subject("尿毒症透析患者脑卒中怎么识别？", DIALYSIS_STROKE)
    assert not for_other_patients("怎么预防骨质疏松？", BONES)


def test_a_mixed_question_is_routed_by_what_it_asks() -> None:
    from assistant.routing import route

    # who pays after treatment is a legal ask; a health condition in a life event is a medical one
    # (the lead's session-4 try-out questions; 「手术以后…医院该怎么赔？」 with 医院 in the ask still goes medical)
    assert route("手术后发现纱布留在体内怎么赔偿", DOMAINS).domain == "legal"
    assert route("乙肝病人可以结婚生小孩吗？", DOMAINS).domain == "medical"
    assert route("老公烟瘾大，想戒烟有什么好办法？", DOMAINS).domain == "medical"
    assert route("Rett 综合征需要做哪些检查？", DOMAINS).domain == "medical"


def test_a_one_character_verb_or_adjective_never_outweighs_the_disease_word() -> None:
    words = ["老", "头", "晕", "高血压", "盐"]
    corpus = {"老": 7.3, "头": 6.6, "晕": 9.0, "高血压": 6.4, "盐": 7.0}
    weights = subject_weights(words, corpus, MEDICAL, lambda ws: {w: corpus.get(w, 4.0) for w in ws})
    assert weights["老"] == 4.5  # 老 of 老是: how it is told
    assert weights["高血压"] == 6.4 > weights["晕"]
    assert weights["盐"] == 7.0  # a one-character NOUN can be the subject (每天吃多少盐)


def test_a_compound_word_is_searched_by_its_parts_too() -> None:
    from assistant.grounding.subject import with_compound_parts

    expanded = with_compound_parts("怀孕了能打流感疫苗吗？")
    assert expanded.startswith("怀孕了能打流感疫苗吗？") and "流感" in expanded.split()
    assert "疫苗" in expanded.split()
    assert with_compound_parts("发热吃什么药") == "发热吃什么药"  # nothing to split
    assert MEDICAL.retrieval.split_compounds and not LEGAL.retrieval.split_compounds


def test_a_patients_ask_names_the_guideline_section_that_answers_it() -> None:
    from assistant.generators.extractive import _asks_this_section

    assert _asks_this_section("手足口病在家该怎么护理？", "九、治疗 > （一）一般治疗")
    assert _asks_this_section("孕妇能打流感疫苗吗？", "十二、预防 > （一）疫苗接种")
    assert not _asks_this_section("孕妇能打流感疫苗吗？", "十、治疗 > （三）抗病毒治疗")
    # 「是怎么传染的」 asks the route, not who spreads it (session 11: 手足口病/流感 were answered from 传染源)
    assert _asks_this_section("手足口病是怎么传染的？", "二、流行病学 > （二）传播途径")
    assert not _asks_this_section("手足口病是怎么传染的？", "二、流行病学 > （一）传染源")
    assert _asks_this_section("流感是通过什么途径传播的？", "二、流行病学 > （二）传播途径")
    assert _asks_this_section("流感会传染吗？", "二、流行病学 > （一）传染源")


def test_numbered_sub_items_inside_a_guideline_line_are_statements_of_their_own() -> None:
    from assistant.grounding.statements import readable_point, statements

    tick = _guide(
        "常见动物致伤诊疗规范（2021年版）", "蜱咬伤诊疗规范 > 五、治疗",
        "1.用镊子夹住蜱的头部，缓慢拔出；2.如蜱的口器断在皮肤内，应行局部切开取出。",
    )  # fmt: skip
    said = [readable_point(st.text) for st in statements(tick)]
    assert said == ["用镊子夹住蜱的头部，缓慢拔出；", "如蜱的口器断在皮肤内，应行局部切开取出。"]
    severe = _guide(
        "手足口病诊疗指南（2018年版）", "八、重症病例的早期识别",
        "下列指标提示患儿可能发展为重症病例危重型：\n1.持续高热体温大于39℃，常规退热效果不佳；\n"
        "2.神经系统表现出现精神萎靡、头痛、呕吐。",
    )  # fmt: skip
    texts = [st.text for st in statements(severe)]
    # each item is read with its lead-in, and no item runs into the next
    assert texts == [
        "下列指标提示患儿可能发展为重症病例危重型：持续高热体温大于39℃，常规退热效果不佳",
        "下列指标提示患儿可能发展为重症病例危重型：神经系统表现出现精神萎靡、头痛、呕吐",
    ]


def test_a_late_dose_is_asked_in_the_norms_words() -> None:
    """「有一针推迟打了」: 狂犬病暴露预防处置工作规范第十七条 says 当某一剂次出现延迟 (session 11)."""
    assert "延迟" in MEDICAL.expand("狂犬疫苗有一针推迟打了，需要全部重新打吗？")


def test_everyday_contact_is_the_guidelines_general_contact_only_when_catching_a_disease() -> None:
    """「和艾滋病人一起吃饭会被传染吗」 is answered by 健康素养 11 (日常生活和工作接触不会传播, 一般接触不会被感染); 吃饭
    in 「孩子不爱吃饭怎么办」 stays about eating (a `context_synonyms` group, session 11)."""
    assert "一般接触" in MEDICAL.expand("和艾滋病人一起吃饭会被传染吗？")
    assert "一般接触" in MEDICAL.expand("和乙肝病人握手会感染吗？")
    assert "一般接触" not in MEDICAL.expand("孩子不爱吃饭怎么办？")
