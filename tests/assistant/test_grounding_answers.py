"""Answer selection and the relevance gate on hand-made statute and guideline passages (issues 9, 10, 12)."""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.generators.extractive import ExtractiveGenerator
from assistant.grounding import REMOVED_CITATION, classify, ground, verify_citations
from assistant.grounding.basis import judge_basis, no_basis_hint
from assistant.grounding.statements import clean_text, is_debris, statements
from knowledge.types import Passage
from safety.types import Answer, Citation

DOMAINS = load_domains()
LEGAL = DOMAINS["legal"]
# How patients ask vs guideline headings (the shipped medical domain.yaml carries such synonyms too).
MEDICAL = DOMAINS["medical"].model_copy(
    update={"synonyms": {**DOMAINS["medical"].synonyms, "症状": ["临床表现"]}}
)


def _law(law: str, no: int, label: str, text: str, kind: str = "法律") -> Passage:
    return Passage(
        id=f"{law}@2012-12-28#{no}", domain="legal", law=law, law_full=law, article_no=no,
        article_label=label, text=text, version="2012-12-28", kind=kind,
    )  # fmt: skip


def _guide(title: str, section: str, sections: list[str], text: str, key: str = "p1") -> Passage:
    return Passage(
        id=f"{title}@#{key}", domain="medical", law=title, law_full=title, text=text, section=section,
        sections=sections, kind="指南",
    )  # fmt: skip


A44 = _law(
    "劳动合同法", 44, "第四十四条",
    "有下列情形之一的，劳动合同终止：\n（一）劳动合同期满的；\n（二）劳动者开始依法享受基本养老保险待遇的；\n"
    "（六）法律、行政法规规定的其他情形。",
)  # fmt: skip
A46 = _law(
    "劳动合同法", 46, "第四十六条",
    "有下列情形之一的，用人单位应当向劳动者支付经济补偿：\n（一）劳动者依照本法第三十八条规定解除劳动合同的；\n"
    "（五）除用人单位维持或者提高劳动合同约定条件续订劳动合同，劳动者不同意续订的情形外，依照本法第四十四条第一项"
    "规定终止固定期限劳动合同的；\n（七）法律、行政法规规定的其他情形。",
)  # fmt: skip
A47 = _law(
    "劳动合同法", 47, "第四十七条",
    "经济补偿按劳动者在本单位工作的年限，每满一年支付一个月工资的标准向劳动者支付。六个月以上不满一年的，按一年计算；"
    "不满六个月的，向劳动者支付半个月工资的经济补偿。\n劳动者月工资高于用人单位所在直辖市、设区的市级人民政府公布的"
    "本地区上年度职工月平均工资三倍的，向其支付经济补偿的标准按职工月平均工资三倍的数额支付，向其支付经济补偿的年限"
    "最高不超过十二年。",
)  # fmt: skip
A87 = _law(
    "劳动合同法", 87, "第八十七条",
    "用人单位违反本法规定解除或者终止劳动合同的，应当依照本法第四十七条规定的经济补偿标准的二倍向劳动者支付赔偿金。",
)  # fmt: skip
L44 = _law(
    "劳动法", 44, "第四十四条",
    "有下列情形之一的，用人单位应当按照下列标准支付高于劳动者正常工作时间工资的工资报酬：\n"
    "（一）安排劳动者延长工作时间的，支付不低于工资的百分之一百五十的工资报酬；\n"
    "（二）休息日安排劳动者工作又不能安排补休的，支付不低于工资的百分之二百的工资报酬；\n"
    "（三）法定休假日安排劳动者工作的，支付不低于工资的百分之三百的工资报酬。",
)  # fmt: skip
LEAVE3 = _law(
    "职工带薪年休假条例", 3, "第三条",
    "职工累计工作已满1年不满10年的，年休假5天；已满10年不满20年的，年休假10天；已满20年的，年休假15天。",
    kind="行政法规",
)  # fmt: skip
LEAVE_RULE3 = _law(
    "企业职工带薪年休假实施办法", 3, "第三条", "职工连续工作满12个月以上的，享受带薪年休假。", kind="部门规章"
)
FLU = "流行性感冒诊疗方案（2025年版）"
FLU_SYMPTOMS = _guide(
    FLU, "四、临床表现", ["四、临床表现", "四、临床表现 > （一）临床表现"],
    "四、临床表现\n潜伏期一般为 1～7 天，多为 2～4 天。\n（一）临床表现\n主要以发热、头痛、肌肉关节酸痛起病，体温可达 39～40℃，"
    "常有咽喉痛、干咳、鼻塞、流涕等。",
)  # fmt: skip
FLU_PREVENTION = _guide(
    FLU, "十二、预防 > （三）一般预防措施", ["十二、预防 > （三）一般预防措施"],
    "（三）一般预防措施\n保持良好的个人卫生习惯是预防流感等呼吸道传染病的重要手段，主要措施包括：勤洗手、保持环境清洁和通风。",
    key="p2",
)  # fmt: skip


# ---------------------------------------------------------------------- statements
def test_statements_know_their_clause_and_join_list_items() -> None:
    st = statements(A46)
    assert st[1].clause == "第（五）项" and st[1].text.startswith(
        "有下列情形之一的，用人单位应当向劳动者支付经济补偿：除"
    )
    assert [s.clause for s in statements(A47)] == ["第一款", "第一款", "第二款"]
    assert statements(A46)[-1].catch_all


def test_guideline_statements_track_sections_and_read_cleanly() -> None:
    st = statements(FLU_SYMPTOMS)
    # PDF spaces joined; heading lines are no statements, a short fragment is read with its heading.
    assert st[0].text == "临床表现：潜伏期一般为1～7天，多为2～4天。"
    assert st[0].section == "四、临床表现" and st[1].section == "四、临床表现 > （一）临床表现"
    assert clean_text("检查距离为5 米（ Cerebral Venous ）") == "检查距离为5米（Cerebral Venous）"
    assert is_debris("猪皮 100g 85 61.4 1.4海参 100g 28 16.5 1.7罗非鱼 100g 102 22.9")
    assert not is_debris("发病48小时内进行抗病毒治疗获益最大。")


# ---------------------------------------------------------------------- answer selection (issue 10)
def test_first_point_is_the_clause_with_the_consequence_and_cites_its_item() -> None:
    answer = ExtractiveGenerator().answer(
        "劳动合同到期后公司不续签，员工能拿到经济补偿吗？", [A44, A46, A47], LEGAL
    )
    first = answer.points[0]
    assert "应当向劳动者支付经济补偿" in first and "终止固定期限劳动合同" in first
    assert first.endswith("（《劳动合同法》第四十六条第（五）项）")
    assert answer.citations[0].ref == "《劳动合同法》第四十六条第（五）项"
    # The verified 【依据】 keeps the clause because the article has an item （五）.
    assert verify_citations(answer, [A44, A46, A47]).answer.citations[0].clause == "第（五）项"


def test_two_rules_together_for_2n() -> None:
    answer = ExtractiveGenerator().answer("公司违法辞退员工要赔多少钱？", [A87, A47, A46], LEGAL)
    assert "二倍向劳动者支付赔偿金" in answer.points[0] and "第八十七条" in answer.points[0]
    assert "每满一年支付一个月工资" in answer.points[1] and "第四十七条" in answer.points[1]
    assert [c.article_no for c in answer.citations][:2] == [87, 47]


def test_whole_list_when_the_question_asks_about_all_of_it() -> None:
    point = ExtractiveGenerator().answer("加班费怎么算？", [L44], LEGAL).points[0]
    assert all(rate in point for rate in ("百分之一百五十", "百分之二百", "百分之三百"))


def test_asked_unit_and_the_law_over_its_implementing_rule() -> None:
    answer = ExtractiveGenerator().answer("工作满五年，每年能休几天年假？", [LEAVE_RULE3, LEAVE3], LEGAL)
    assert "年休假5天" in answer.points[0] and answer.citations[0].law == "职工带薪年休假条例"


def test_medical_question_answered_from_the_section_it_asks_for() -> None:
    answer = ExtractiveGenerator().answer("流感一般有哪些症状？", [FLU_PREVENTION, FLU_SYMPTOMS], MEDICAL)
    assert answer.citations[0].section.startswith("四、临床表现") and "发热" in " ".join(answer.points)
    assert answer.category == "传染病"


def test_bad_clause_is_dropped_from_basis_and_points() -> None:
    answer = Answer(
        category="劳动合同",
        points=["见《劳动合同法》第四十六条第（九）项"],
        citations=[Citation(law="劳动合同法", article_no=46, clause="第（九）项")],
    )
    result = ground(answer, [A46])
    assert result.answer.citations[0].clause == "" and result.answer.points == ["见《劳动合同法》第四十六条"]
    assert REMOVED_CITATION not in result.answer.points[0]


# ---------------------------------------------------------------------- 【分类】
def test_categories_are_not_sent_by_generic_words() -> None:
    assert classify("公司不安排休年假，要补工资吗？", [], LEGAL) == "工资与休假"
    assert classify("怀孕了公司要辞退我", [], LEGAL) == "劳动合同"
    assert classify("被狗咬伤了要打狂犬疫苗吗", [], MEDICAL) == "急救与伤害"
    assert classify("孩子发烧咳嗽", [FLU_SYMPTOMS], MEDICAL) in ("儿科", "传染病")


def test_a_deposit_is_the_tenancy_category_next_to_a_landlord() -> None:
    # 押金 is a 劳动合同 keyword too (an employer may not take one); beside 房东 it is a rent deposit
    assert classify("房东提前收回房子，押金不退怎么办？", [], LEGAL) == "房屋租赁"
    assert classify("公司入职要求交押金合法吗？", [], LEGAL) == "劳动合同"


# ---------------------------------------------------------------------- relevance gate (issue 12)
def test_gate_keeps_passages_that_address_the_question() -> None:
    decision = judge_basis("流感一般有哪些症状？", [FLU_SYMPTOMS, A47], MEDICAL)
    assert decision.passages == [FLU_SYMPTOMS]


def test_gate_refuses_passages_that_only_share_generic_words() -> None:
    weights = {"德国": 9.0, "劳动合同": 3.0, "解除": 2.0, "随时": 4.0}
    decision = judge_basis("德国的劳动合同可以随时解除吗？", [A44, A46], LEGAL, weights)
    assert decision.passages == [] and "德国" in decision.missing
    assert "「德国」" in no_basis_hint(decision.missing)


def test_gate_always_keeps_an_article_the_question_names() -> None:
    assert judge_basis("劳动合同法第四十七条", [A44, A47], LEGAL).passages[0] == A47


# ---------------------------------------------------------------------- session 3: which article comes first
def _scored(p: Passage, score: float) -> Passage:
    return p.model_copy(update={"score": score})


CONTRACT9 = _law(
    "劳动合同法", 9, "第九条",
    "用人单位招用劳动者，不得扣押劳动者的居民身份证和其他证件，不得要求劳动者提供担保或者以其他名义向劳动者收取财物。",
)  # fmt: skip
JOB41 = _law(
    "就业促进法", 41, "第四十一条",
    "职业中介机构不得有下列行为：\n（一）提供虚假就业信息；\n（四）扣押劳动者的居民身份证和其他证件，或者向劳动者收取押金；",
)  # fmt: skip
LABOUR25 = _law(
    "劳动法", 25, "第二十五条",
    "劳动者有下列情形之一的，用人单位可以解除劳动合同：\n（一）在试用期间被证明不符合录用条件的；\n"
    "（二）严重违反劳动纪律或者用人单位规章制度的；",
)  # fmt: skip
CONTRACT39 = _law(
    "劳动合同法", 39, "第三十九条",
    "劳动者有下列情形之一的，用人单位可以解除劳动合同：\n（一）在试用期间被证明不符合录用条件的；\n"
    "（二）严重违反用人单位的规章制度的；",
)  # fmt: skip
DISPUTE22 = _law(
    "医疗纠纷预防和处理条例", 22, "第二十二条",
    "发生医疗纠纷，医患双方可以通过下列途径解决：\n（一）双方自愿协商；\n（二）申请人民调解；\n（三）申请行政调解；\n"
    "（四）向人民法院提起诉讼；\n（五）法律、法规规定的其他途径。",
    kind="行政法规",
)  # fmt: skip
EBOLA = _guide(
    "埃博拉病毒病诊疗方案（2026年版）", "四、临床表现", ["四、临床表现"],
    "四、临床表现\n潜伏期2～21天。主要症状为发热、头痛、肌肉关节酸痛，随后出现呕吐、腹泻。",
)  # fmt: skip


def test_the_article_retrieval_is_confident_about_comes_first() -> None:
    # 就业促进法 covers the words as well (职业中介 aside); the ranker is ten times surer of 劳动合同法第九条.
    basis = [_scored(JOB41, 0.08), _scored(CONTRACT9, 0.79)]
    answer = ExtractiveGenerator().answer("公司入职时扣押员工身份证合法吗？", basis, LEGAL)
    assert answer.citations[0].ref == "《劳动合同法》第九条"
    assert "不得扣押劳动者的居民身份证" in answer.points[0]


def test_gate_orders_its_basis_best_first() -> None:
    weak, strong = _scored(JOB41, 0.05), _scored(CONTRACT9, 0.9)
    decision = judge_basis("公司入职时扣押员工身份证合法吗？", [weak, strong], LEGAL)
    assert decision.passages[0] == strong


def test_the_special_law_states_the_shared_rule() -> None:
    # 劳动法 and 劳动合同法 say the same; the special (later) law is what a lawyer cites first.
    basis = [_scored(LABOUR25, 0.33), _scored(CONTRACT39, 0.11)]
    answer = ExtractiveGenerator().answer("员工严重违反公司规章制度，公司可以直接解除合同吗？", basis, LEGAL)
    assert answer.citations[0].ref == "《劳动合同法》第三十九条第（二）项"
    assert "严重违反用人单位的规章制度" in answer.points[0]


def test_a_question_for_all_the_ways_gets_the_whole_list() -> None:
    point = ExtractiveGenerator().answer("和医院发生医疗纠纷，有哪些解决途径？", [DISPUTE22], LEGAL).points[0]
    assert all(way in point for way in ("双方自愿协商", "申请人民调解", "向人民法院提起诉讼"))


def test_the_opening_rule_of_an_article_comes_before_its_details() -> None:
    point = ExtractiveGenerator().answer("经济补偿按什么标准计算？", [A47], LEGAL).points[0]
    assert "每满一年支付一个月工资" in point


def test_a_guideline_answer_stays_in_its_guideline() -> None:
    basis = [_scored(FLU_SYMPTOMS, 0.9), _scored(EBOLA, 0.5)]
    answer = ExtractiveGenerator().answer("流感一般有哪些症状？", basis, MEDICAL)
    assert {c.law for c in answer.citations} == {FLU}


CONTRACT10 = _law(
    "劳动合同法", 10, "第十条",
    "建立劳动关系，应当订立书面劳动合同。\n已建立劳动关系，未同时订立书面劳动合同的，应当自用工之日起一个月内订立书面劳动合同。\n"
    "用人单位与劳动者在用工前订立劳动合同的，劳动关系自用工之日起建立。",
)  # fmt: skip
CONTRACT82 = _law(
    "劳动合同法", 82, "第八十二条",
    "用人单位自用工之日起超过一个月不满一年未与劳动者订立书面劳动合同的，应当向劳动者每月支付二倍的工资。\n"
    "用人单位违反本法规定不与劳动者订立无固定期限劳动合同的，自应当订立无固定期限劳动合同之日起向劳动者每月支付二倍的工资。",
)  # fmt: skip
CONSUMER26 = _law(
    "消费者权益保护法", 26, "第二十六条",
    "经营者在经营活动中使用格式条款的，应当以显著方式提请消费者注意商品或者服务的数量和质量、价款或者费用、履行期限和方式、"
    "安全注意事项和风险警示、售后服务、民事责任等与消费者有重大利害关系的内容，并按照消费者的要求予以说明。\n"
    "经营者不得以格式条款、通知、声明、店堂告示等方式，作出排除或者限制消费者权利、减轻或者免除经营者责任、加重消费者责任等"
    "对消费者不公平、不合理的规定，不得利用格式条款并借助技术手段强制交易。\n"
    "格式条款、通知、声明、店堂告示等含有前款所列内容的，其内容无效。",
)  # fmt: skip


def test_what_to_do_is_answered_by_the_remedy_not_the_bare_duty() -> None:
    # Retrieval is surer of 第十条 (the duty to sign); 「怎么办」 asks what the worker gets: 第八十二条's double wage.
    basis = [_scored(CONTRACT10, 0.7), _scored(CONTRACT82, 0.17)]
    answer = ExtractiveGenerator().answer("上班三个月了单位一直不和我签书面劳动合同，怎么办？", basis, LEGAL)
    assert answer.citations[0].article_no == 82, answer.points
    assert "每月支付二倍的工资" in answer.points[0]


def test_a_validity_question_is_answered_by_the_clause_that_rules_on_validity() -> None:
    answer = ExtractiveGenerator().answer(
        "超市门口贴着“售出商品概不退换”，这种店堂告示有效吗？", [CONSUMER26], LEGAL
    )
    assert "其内容无效" in answer.points[0], answer.points
    assert answer.points[0].endswith("（《消费者权益保护法》第二十六条第三款）")
