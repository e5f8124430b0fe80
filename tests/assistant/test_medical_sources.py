"""Which source a medical answer rests on (issue 9): a statute written for one field (传染病防治法, 精神卫生法)
only for a question of that field, and a guideline titled after what is asked before a compendium retelling it."""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.generators.extractive import ExtractiveGenerator
from assistant.grounding.basis import judge_basis
from assistant.grounding.subject import fits_subject, titled_documents
from knowledge.types import Passage
from tests.assistant.test_medical_subject import BITES, LITERACY, MEDICAL, _guide

RABIES = "狂犬病暴露预防处置工作规范（2023年版）"


def _article(law: str, no: int, text: str = "条文。", score: float = 0.5, kind: str = "行政法规") -> Passage:
    return Passage(
        id=f"{law}#{no}", domain="medical", law=law, law_full=law, text=text, article_no=no, kind=kind,
        score=score,
    )  # fmt: skip


# The compendium retells the rabies norm under a heading naming everything the question says; the norm is the
# primary source and is cited by article.
RETELLING = _guide(
    LITERACY,
    "一、基本知识和理念 > 13. 家养犬、猫应接种兽用狂犬病疫苗；人被犬、猫抓伤、咬伤后，应立即冲洗、消毒伤口，并尽早注射狂犬病人免疫球蛋白和人用狂犬病疫苗。",
    "全程接种后3个月及以上再次暴露者，应于0和3天各加强接种1剂次疫苗。",
    score=0.4,
)  # fmt: skip
NORM = _guide(
    RABIES, "第三章 疫苗接种和被动免疫制剂的使用",
    "5针免疫程序：于0、3、7、14和28天各注射狂犬病疫苗1剂次，共注射5剂次。", score=0.1, no=11,
)  # fmt: skip


def test_a_guideline_titled_after_the_question_is_the_primary_source() -> None:
    question = "狂犬病疫苗一共要打几针？"
    assert titled_documents(question, [RETELLING, NORM], MEDICAL) == {RABIES}
    # statutes are never 'titled': their titles name whole fields (疫苗管理法 for any vaccine question)
    assert (
        titled_documents("打疫苗有什么副作用？", [_article("疫苗管理法", 56, kind="法律")], MEDICAL) == set()
    )
    decision = judge_basis(question, [RETELLING, NORM], MEDICAL)
    assert [p.law for p in decision.passages][:1] == [RABIES]
    answer = ExtractiveGenerator().answer(question, decision.passages, MEDICAL)
    assert answer.citations[0].law == RABIES and "5剂次" in answer.points[0]


def test_without_the_preference_the_ranker_favourite_retelling_wins() -> None:
    # The same question in a domain that does not prefer titled documents: the behaviour the setting changes.
    plain = MEDICAL.model_copy(
        update={"retrieval": MEDICAL.retrieval.model_copy(update={"prefer_titled": False})}
    )
    decision = judge_basis("狂犬病疫苗一共要打几针？", [RETELLING, NORM], plain)
    assert [p.law for p in decision.passages][:1] == [LITERACY]


def test_a_statute_written_for_one_field_answers_only_questions_of_that_field() -> None:
    mental = _article(
        "精神卫生法", 37, "医疗机构及其医务人员应当将精神障碍患者在诊断、治疗过程中享有的权利，告知患者或者其监护人。",
        kind="法律",
    )  # fmt: skip
    infection = _article(
        "传染病防治法", 52,
        "医疗机构应当对传染病病人或者疑似传染病病人提供医疗救护、现场救援和接诊治疗，书写病历记录以及其他有关资料，并妥善保管。",
        kind="法律",
    )  # fmt: skip
    general = _article(
        "医师法",
        24,
        "医师实施医疗、预防、保健措施，必须亲自诊查，并按照规定及时填写病历等医学文书。",
        kind="法律",
    )
    question = "医疗机构的病历资料应该怎么保管？"
    assert not fits_subject(question, mental, MEDICAL) and not fits_subject(question, infection, MEDICAL)
    assert fits_subject(question, general, MEDICAL)
    assert fits_subject("传染病人的病历要怎么保管？", infection, MEDICAL)
    assert fits_subject("抑郁症患者住院时有哪些权利？", mental, MEDICAL)
    assert judge_basis(question, [infection, mental], MEDICAL).passages == []
    # a domain without scoped categories (legal) is not affected
    assert fits_subject(question, infection, None)


def test_a_rule_on_hospital_made_preparations_answers_only_questions_on_them() -> None:
    preparation = _article(
        "医疗机构制剂配制质量管理规范（试行）", 65,
        "制剂使用过程中发现的不良反应，应按《药品不良反应监测管理办法》的规定予以记录，填表上报。", kind="部门规章",
    )  # fmt: skip
    assert not fits_subject("医院发现药品不良反应需要上报吗？", preparation, MEDICAL)
    assert fits_subject("医院自己配制的制剂出现不良反应要上报吗？", preparation, MEDICAL)


def test_a_word_about_infection_opens_no_single_disease_guideline() -> None:
    """传染 puts a question in the 传染病 category, but names no disease: 「得了带状疱疹会传染吗」 was answered from
    手足口病诊疗指南's 疱疹液 sentence. A question naming the disease (or a category word that names one) still is."""
    hfmd = _guide(
        "手足口病诊疗指南（2018年版）", "二、流行病学 > （一）传染源",
        "肠道病毒可通过感染者的粪便、咽喉分泌物、唾液和疱疹液等广泛传播。",
    )  # fmt: skip
    assert not fits_subject("得了带状疱疹会传染吗？", hfmd, MEDICAL)
    assert not fits_subject("病毒感染了要隔离几天？", hfmd, MEDICAL)
    assert fits_subject("手足口病会传染吗？", hfmd, MEDICAL)
    assert fits_subject("孩子得了手足口会传染给大人吗？", hfmd, MEDICAL)


def test_who_is_ill_does_not_carry_a_passage_about_that_population() -> None:
    """「老人便秘怎么办」 was answered from 健康素养's item on the elderly (falls: 室内照明适度): 老人 carried it.
    In the gate a population word weighs like a common word; the thing asked about must be covered."""
    elderly = _guide(
        LITERACY, "一、基本知识和理念 > 21. 关爱老年人，预防老年人跌倒，识别老年期痴呆。",
        "老年人应主动调整日常行为习惯，室内照明适度，减少眩光，预防跌倒。",
    )  # fmt: skip
    # the weights the pipeline gives them (subject_weights on the full corpus: 便秘, a word no document uses that
    # jieba calls a verb, weighs half the maximum)
    weights = {"老人": 8.73, "便秘": 4.37, "预防": 3.0, "跌倒": 6.0}
    assert judge_basis("老人便秘怎么办？", [elderly], MEDICAL, weights).passages == []
    assert elderly in judge_basis("老人怎么预防跌倒？", [elderly], MEDICAL, weights).passages


def test_the_legal_domain_scopes_the_same_field_statutes() -> None:
    """传染病防治法第五十二条 (a patient transferred with a copy of the record) answered the legal question
    「病人有权复印自己的病历吗」; a pregnancy question about work is not 母婴保健法's field."""
    legal = load_domains()["legal"]
    infection = _article(
        "传染病防治法", 52, "医疗机构不具备相应救治能力的，应当将患者及其病历记录复印件一并转至具备相应救治能力的医疗机构。",
        kind="法律",
    )  # fmt: skip
    maternity = _article(
        "母婴保健法", 14, "医疗保健机构应当为育龄妇女和孕产妇提供孕产期保健服务。", kind="法律"
    )
    records = _article("医疗事故处理条例", 10, "患者有权复印或者复制其门诊病历、住院志。")
    assert not fits_subject("病人有权复印自己的病历吗？", infection, legal)
    assert fits_subject("病人有权复印自己的病历吗？", records, legal)
    assert fits_subject("得了传染病被隔离，医院能不让我复印病历吗？", infection, legal)
    assert not fits_subject("怀孕期间公司能以不胜任为由辞退我吗？", maternity, legal)
    assert fits_subject("孕妇做产前检查的费用由谁承担？", maternity, legal)


def test_food_law_answers_only_a_question_about_food() -> None:
    """食品安全法第一百三十一条 (a food platform's liability) answered 「在网购平台买的东西有质量问题，平台要承担
    责任吗」 before 消费者权益保护法第四十四条 (session 11): the legal domain scopes it to food questions."""
    legal = load_domains()["legal"]
    platform = _article(
        "食品安全法", 131, "消费者通过网络食品交易第三方平台购买食品，其合法权益受到损害的，可以向入网食品经营者或者食品生产者要求赔偿。",
        kind="法律",
    )  # fmt: skip
    assert not fits_subject("在网购平台买的东西有质量问题，平台要承担责任吗？", platform, legal)
    assert fits_subject("在网上买的零食吃坏了肚子，平台要承担责任吗？", platform, legal)
    assert fits_subject("超市卖过期食品，消费者能要求十倍赔偿吗？", platform, legal)


def test_a_maximum_and_validity_are_asked_in_the_statutes_words() -> None:
    """「最长可以约定多久」 is 不得超过 and 「还有效吗」 is 效力 in a statute (劳动合同法第二十四条: 竞业限制期限，不得超过
    二年; 民法典第七百二十五条: 不影响租赁合同的效力)."""
    legal = load_domains()["legal"]
    assert "不得超过" in legal.expand("离职后的竞业限制期限最长可以约定多久？")
    assert "效力" in legal.expand("房东把房子卖了，我的租赁合同还有效吗？")
    assert "效力" not in legal.expand("食品的保质期有效期是多久？")


def test_an_animal_guide_answers_only_a_question_naming_its_animal() -> None:
    jellyfish = _guide(
        BITES, "海蜇蜇伤诊疗规范 > 七、治疗 > （三）对症治疗",
        "疼痛明显者可口服布洛芬或对乙酰氨基酚等镇痛药物，每日不超过4次。",
    )  # fmt: skip
    snake = _guide(
        BITES, "蛇咬伤诊疗规范 > 六、蛇咬伤救治", "评估生命体征，出现头晕、视物模糊者尽快转运至医院。"
    )
    cat = _guide(BITES, "猫抓咬伤诊疗规范 > 五、处理", "猫抓伤后应立即冲洗伤口，评估狂犬病暴露风险。")
    assert not fits_subject("对乙酰氨基酚一天最多能吃几次？", jellyfish, MEDICAL)
    assert fits_subject("被海蜇蜇了很疼，能吃布洛芬吗？", jellyfish, MEDICAL)
    assert not fits_subject("最近总是头晕，需要查什么？", snake, MEDICAL)
    assert fits_subject("被蛇咬了头晕怎么办？", snake, MEDICAL)
    assert fits_subject("被猫抓伤没出血要打狂犬疫苗吗？", cat, MEDICAL)
    assert judge_basis("布洛芬和对乙酰氨基酚可以一起吃吗？", [jellyfish], MEDICAL).passages == []


def test_a_child_is_who_is_ill_not_what_with() -> None:
    # 儿科 lists the pediatric disease guidelines; its keywords (孩子, 宝宝) name the patient, not the disease.
    ane = _guide(
        "儿童急性坏死性脑病诊疗方案（2023年版）", "十、治疗 > （三）其他综合治疗",
        "2月龄以下不使用解热镇痛药物，2~6月龄选择对乙酰氨基酚，6月龄以上可选择对乙酰氨基酚或布洛芬。",
    )  # fmt: skip
    assert not fits_subject("怎样给孩子喂退烧药才安全？", ane, MEDICAL)
    assert fits_subject("孩子得了急性坏死性脑病怎么退烧？", ane, MEDICAL)
    # a topic category still lets its guideline answer a topic word: 中风 and 脑血管病防治指南 (慢病管理)
    stroke = _guide("脑血管病防治指南（2024年版）", "第三章 脑血管病预防", "控制血压是预防卒中的关键。")
    assert fits_subject("中风后怎么预防复发？", stroke, MEDICAL)


def test_a_word_the_domain_names_is_never_only_who_or_when() -> None:
    from assistant.grounding.scope import vocabulary
    from assistant.grounding.subject import is_narrative, subject_weights

    # jieba tags 中暑 a time word (暑: summer); the medical domain routes on it, so it is what is asked about
    assert is_narrative("中暑", frozenset(MEDICAL.retrieval.narrative_words))
    assert "中暑" in vocabulary(MEDICAL)
    weights = subject_weights(["预防", "中暑"], {"预防": 3.8, "中暑": 7.0}, MEDICAL)
    assert weights["中暑"] == 7.0
    assert subject_weights(["去年", "中暑"], {"去年": 5.0, "中暑": 7.0}, MEDICAL)["去年"] == 0.0
    disability = _article(
        "残疾预防和残疾人康复条例",
        10,
        "残疾预防工作应当覆盖全人群和全生命周期，坚持普遍预防和重点防控相结合。",
    )
    assert judge_basis("怎样预防中暑？", [disability], MEDICAL, weights).passages == []


def test_a_bite_told_as_a_verb_searches_the_guides_wording() -> None:
    # 「被蜱虫咬了」: the guides write 蜱咬伤; the medical ranker weighs their headings (咬伤) most
    assert "咬伤" in MEDICAL.expand("我在户外爬山被蜱虫咬了，虫子还钉在皮肤上，该怎么弄下来？")
    assert "蜇伤" in MEDICAL.expand("被马蜂蛰了怎么办？")
    # jieba splits 咬牙 too, so a teeth-grinding question also searches 咬伤 — and no animal guide fits it
    grinding = MEDICAL.expand("晚上睡觉咬牙怎么办？")
    dog = _guide(BITES, "犬咬伤诊疗规范 > 五、治疗", "犬咬伤后应立即冲洗伤口，尽快就医。")
    assert "咬伤" in grinding and not fits_subject(grinding, dog, MEDICAL)
