"""Medical answers rest on passages *about* the question's subject (issue 9): a rare disease's chapter of a
compendium, a differential-diagnosis section or a passage sharing only generic words is no basis."""

from __future__ import annotations

from assistant.domains import load_domains
from assistant.generators.extractive import ExtractiveGenerator
from assistant.grounding.basis import judge_basis
from assistant.grounding.subject import document_identity, fits_subject, part_of, question_names
from knowledge.types import Passage

MEDICAL = load_domains()["medical"]
RARE = "软骨发育不全等86个罕见病病种诊疗指南（2025年版）"
FLU = "流行性感冒诊疗方案（2025年版）"
COVID = "新型冠状病毒感染诊疗方案（试行第十版）"
BITES = "常见动物致伤诊疗规范（2021年版）"


def _guide(
    title: str,
    section: str,
    text: str,
    sections: list[str] | None = None,
    score: float = 0.5,
    no: int | None = None,
) -> Passage:
    """A guideline passage (`no`: a numbered guideline article, 狂犬病暴露预防处置工作规范第十一条)."""
    return Passage(
        id=f"{title}#{section}#{no}", domain="medical", law=title, law_full=title, text=text, section=section,
        sections=sections or [section], kind="指南", score=score, article_no=no,
    )  # fmt: skip


GCA = _guide(
    RARE, "35. 巨细胞动脉炎 > 临床表现",
    "临床表现\n颅内动脉受累较为多见，可引起脑卒中、视力障碍、听力下降等急症，需要及时识别早期症状，积极治疗。",
)  # fmt: skip
NARCOLEPSY = _guide(
    RARE, "52. 发作性睡病 > 治疗", "治疗\n急性发作时可使用药物治疗，急性撤药不会产生强烈的反跳性猝倒或嗜睡。"
)
FLU_DIFFERENTIAL = _guide(
    FLU, "九、鉴别诊断 > （二）新冠病毒感染",
    "（一）普通感冒\n普通感冒以上呼吸道卡他症状为主要表现，发热、肌肉酸痛等全身症状轻。\n（二）新冠病毒感染\n"
    "新冠病毒感染与流感临床表现类似，需通过病原学检查相鉴别。",
    ["九、鉴别诊断 > （一）普通感冒", "九、鉴别诊断 > （二）新冠病毒感染"],
    score=0.9,
)  # fmt: skip
COVID_SYMPTOMS = _guide(
    COVID, "四、临床特点 > （一）临床表现",
    "（一）临床表现\n新冠病毒感染潜伏期多为2～4天。主要表现为咽干、咽痛、咳嗽、发热等症状。",
    score=0.2,
)  # fmt: skip
SNAKE = _guide(
    BITES, "蛇咬伤诊疗规范 > 六、蛇咬伤救治", "（二）院前急救处理\n被蛇咬伤后应保持冷静，尽快转运至医院。"
)
DOG = _guide(BITES, "犬咬伤诊疗规范 > 五、治疗", "五、治疗\n犬咬伤后应立即冲洗伤口，尽快就医。")


def test_a_compendium_chapter_is_a_document_of_its_own() -> None:
    assert part_of(GCA) == ("巨细胞动脉炎", True)
    assert part_of(SNAKE) == ("蛇咬伤诊疗规范", False)
    assert part_of(COVID_SYMPTOMS) == ("", False)
    assert document_identity(GCA) != document_identity(NARCOLEPSY)
    assert document_identity(SNAKE) != document_identity(DOG)
    assert document_identity(FLU_DIFFERENTIAL) == FLU


def test_a_rare_disease_chapter_answers_only_a_question_naming_its_disease() -> None:
    # The chapter mentions 脑卒中 and 识别 …早期症状: every word of the question, and still not about it.
    assert judge_basis("怎么早期识别中风（脑卒中）的症状？", [GCA], MEDICAL).passages == []
    assert judge_basis("巨细胞动脉炎有哪些临床表现？", [GCA], MEDICAL).passages == [GCA]
    # half of the name's bigrams is naming it (巨细胞性动脉炎), one shared bigram (发作) is not
    assert question_names("巨细胞性动脉炎会引起失明吗", "巨细胞动脉炎")
    assert not question_names("痛风急性发作时吃什么药止痛", "发作性睡病")


def test_a_differential_diagnosis_answers_only_a_question_that_tells_diseases_apart() -> None:
    decision = judge_basis("感染新冠病毒后一般有哪些症状？", [FLU_DIFFERENTIAL, COVID_SYMPTOMS], MEDICAL)
    assert decision.passages == [COVID_SYMPTOMS]
    assert fits_subject("流感和新冠有什么区别？", FLU_DIFFERENTIAL)
    assert judge_basis("流感和普通感冒有什么区别？", [FLU_DIFFERENTIAL], MEDICAL).passages == [
        FLU_DIFFERENTIAL
    ]


def test_a_passage_sharing_only_generic_words_is_no_basis() -> None:
    # 急性, 发作, 药 are covered; 痛风 and 止痛 — what the question is about — are not. (A guideline about no
    # one disease: a disease guideline's passage would not even fit the question's subject, see below.)
    other = _guide(
        "临床用血技术规范（2025年版）", "十七、治疗原则 > 1.PE 治疗",
        "1.PE 治疗\n急性发作的肺栓塞需立即治疗，应根据活化部分凝血活酶时间调整用药，镇痛药物按需使用。",
    )  # fmt: skip
    weights = {"痛风": 9.0, "急性": 5.45, "发作": 5.96, "药": 5.7, "止痛": 8.73}
    question = "痛风急性发作时吃什么药止痛？"
    assert judge_basis(question, [other], MEDICAL, weights).passages == []
    # the same passage passes when the rarest words are not required (the legal domain's setting)
    loose = MEDICAL.model_copy(
        update={"retrieval": MEDICAL.retrieval.model_copy(update={"subject_words": 0})}
    )
    assert judge_basis(question, [other], loose, weights).passages == [other]


def test_the_composer_does_not_quote_a_differential_diagnosis_for_another_question() -> None:
    spans = _guide(
        FLU, "九、鉴别诊断 > （二）新冠病毒感染",
        "（二）新冠病毒感染\n新冠病毒感染与流感临床表现类似，需通过病原学检查相鉴别。\n十、治疗\n"
        "流感患者发病48小时内进行抗病毒治疗获益最大。",
        ["九、鉴别诊断 > （二）新冠病毒感染", "十、治疗"],
    )  # fmt: skip
    answer = ExtractiveGenerator().answer("流感患者新冠病毒感染怎么治疗？", [spans], MEDICAL)
    assert all("相鉴别" not in p for p in answer.points) and "48小时" in answer.points[0]


def test_an_answer_from_one_animal_guide_does_not_mix_in_another() -> None:
    snake, dog = SNAKE.model_copy(update={"score": 0.9}), DOG.model_copy(update={"score": 0.8})
    answer = ExtractiveGenerator().answer("被蛇咬伤或者被狗咬伤后应该怎么急救处理？", [snake, dog], MEDICAL)
    assert {c.section.split(" > ")[0] for c in answer.citations} == {"蛇咬伤诊疗规范"}


LITERACY = "中国公民健康素养——基本知识与技能释义（2024年版）"
PESTS = _guide(
    LITERACY, "一、基本知识和理念 > 14. 蚊子、苍蝇、老鼠、蟑螂等会传播多种疾病。",
    "14. 蚊子、苍蝇、老鼠、蟑螂等会传播多种疾病。\n蟑螂的排泄物与尸体中的蛋白可诱发人的过敏性鼻炎和哮喘，应使用喷雾杀虫剂灭蟑。",
)  # fmt: skip
HEATING = _guide(
    LITERACY, "二、健康生活方式与行为 > 49. 冬季取暖注意通风，谨防一氧化碳中毒。",
    "49. 冬季取暖注意通风，谨防一氧化碳中毒。\n冬季在密闭的室内使用煤炉或木炭取暖时，可引起一氧化碳蓄积，造成人员中毒。",
)  # fmt: skip


def test_an_everyday_topic_answers_what_its_heading_is_about() -> None:
    weights = {"过敏性": 7.6, "鼻炎": 9.0, "喷雾": 8.0}
    assert judge_basis("过敏性鼻炎用什么喷雾？", [PESTS], MEDICAL, weights).passages == []
    # four words share the IDF cap: the heading needs to name one of them (取暖, 一氧化碳), not the first two
    weights = {"冬天": 9.0, "烧炭": 9.0, "取暖": 9.0, "预防": 3.8, "一氧化碳": 9.0, "中毒": 6.4}
    assert judge_basis("冬天烧炭取暖怎么预防一氧化碳中毒？", [HEATING], MEDICAL, weights).passages == [
        HEATING
    ]


# ---------------------------------------------------------------------- readable key points (issue 9 item 5)
def test_key_points_read_as_sentences_not_pdf_debris() -> None:
    from assistant.grounding.statements import is_debris, readable_point

    assert readable_point("13. 家养犬、猫应接种兽用狂犬病疫苗") == "家养犬、猫应接种兽用狂犬病疫苗"
    assert (
        readable_point("（5）不建议联合应用相同作用机制的抗病毒药物")
        == "不建议联合应用相同作用机制的抗病毒药物"
    )
    assert readable_point("因此，鼓励儿童增加日间户外活动时间") == "鼓励儿童增加日间户外活动时间"
    assert readable_point("1.5倍剂量") == "1.5倍剂量"  # a decimal is no list number
    # numbers the PDF extraction lost, a web page's footer
    assert is_debris("潜伏期 ~ 天，多为 ~ 天。")
    assert is_debris("普通自来水中的游离氯、75%乙醇、℃ 分钟等对诺如病毒作用有限。")
    assert is_debris("网站地图地址：北京市西城区西直门外南路1号 版权所有，不得非法镜像")
    assert not is_debris("潜伏期一般为1～7天，体温可达39～40℃。")


def test_a_guideline_point_is_chosen_by_what_it_says_not_by_repeating_the_disease_name() -> None:
    # 流感 shortens 流行性感冒 (the title): every statement of the flu guideline is about flu, so the sentence
    # that happens to repeat 流感 does not beat the one describing the symptoms.
    symptoms = _guide(
        FLU, "四、临床表现 > （一）临床表现",
        "（一）临床表现\n主要以发热、头痛、肌肉关节酸痛起病，常有咽喉痛、干咳、鼻塞、流涕等。\n"
        "流感病毒感染可导致慢性基础疾病加重。",
    )  # fmt: skip
    answer = ExtractiveGenerator().answer("流感一般有哪些症状？", [symptoms], MEDICAL)
    assert "主要以发热" in answer.points[0]


def test_signs_are_not_outranked_by_a_sentence_that_only_says_what_to_do() -> None:
    # 「反应差」 is a sign, not a rule (应): the first sign listed is not outranked by it.
    signs = _guide(
        COVID, "八、重型/危重型早期预警指标 > （二）儿童",
        "（二）儿童\n呼吸频率增快，嗜睡、惊厥，外周血淋巴细胞计数降低。\n部分患儿精神反应差。",
    )  # fmt: skip
    answer = ExtractiveGenerator().answer("孩子感染新冠后出现哪些情况需要警惕重症？", [signs], MEDICAL)
    assert "呼吸频率增快" in answer.points[0]


def test_a_gold_section_naming_an_article_matches_that_article() -> None:
    from assistant.grounding.evaluate import GoldRef
    from safety.types import Citation

    gold = GoldRef(title="狂犬病暴露预防处置工作规范（2023年版）", section="第27条")
    assert gold.matches(Citation(law="狂犬病暴露预防处置工作规范（2023年版）", article_no=27))
    assert not gold.matches(Citation(law="狂犬病暴露预防处置工作规范（2023年版）", article_no=26))


def test_the_section_the_question_asks_for_outweighs_the_rankers_confidence() -> None:
    noro = "诺如病毒胃肠炎诊疗方案（2025年版）"
    cause = _guide(
        noro, "一、病原学",
        "一、病原学\n诺如病毒感染人后在肠道复制，诺如病毒在外环境中稳定，冷冻食品中数月后仍具有感染性。",
        score=0.7,
    )  # fmt: skip
    treat = _guide(
        noro,
        "九、治疗",
        "九、治疗\n诺如病毒感染尚无特效抗病毒药物，以对症和支持治疗为主。",
        score=0.09,
    )
    answer = ExtractiveGenerator().answer("感染诺如病毒上吐下泻，应该怎么处理？", [cause, treat], MEDICAL)
    assert answer.citations[0].section == "九、治疗" and "对症和支持治疗" in answer.points[0]


def test_table_captions_and_cell_fragments_are_no_key_points() -> None:
    from assistant.grounding.statements import is_debris, readable_point

    assert is_debris("表4破伤风疫苗和被动免疫制剂的使用既往 TTCV 免疫最后1剂TTCV风险分级")
    assert is_debris("高风险）")
    assert not is_debris("勤洗手。")
    assert readable_point("儿童：1.呼吸频率增快") == "儿童：呼吸频率增快"


def test_a_question_what_a_disease_is_gets_its_overview() -> None:
    name = "1. 软骨发育不全"
    overview = _guide(
        RARE, f"{name} > 概述", "概述\n软骨发育不全是一种导致非匀称性身材矮小的遗传性疾病。", score=0.1
    )
    care = _guide(
        RARE, f"{name} > 治疗", "治疗\n软骨发育不全成人患者患椎管狭窄风险较高，建议每3～5年进行一次神经系统检查。", score=0.9
    )  # fmt: skip
    answer = ExtractiveGenerator().answer("软骨发育不全是一种什么病？", [care, overview], MEDICAL)
    assert "遗传性疾病" in answer.points[0]


# ---------------------------------------------------------------- session 6: patients' first-aid stories
def test_a_phrase_jieba_keeps_whole_is_not_what_a_story_is_about() -> None:
    from assistant.grounding.relevance import topic_words
    from assistant.grounding.subject import is_phrase, subject_weights

    assert all(is_phrase(w) for w in ("咬了一口", "动一动", "救上来", "草丛里"))
    assert not any(is_phrase(w) for w in ("老年痴呆", "灰指甲", "精神分裂症", "河里", "了解"))
    question = "在草丛里被蛇咬了一口，不知道有没有毒，送医院前该怎么做？"
    words = topic_words(question)
    corpus = {"草丛里": 9.0, "蛇": 8.7, "咬了一口": 9.0, "知道": 5.4, "毒": 6.2, "送": 4.5, "医院": 6.0}
    weights = subject_weights(words, {w: corpus.get(w, 0.0) for w in words}, MEDICAL)
    assert weights["咬了一口"] == weights["草丛里"] == 4.5 and weights["蛇"] == 8.7
    first_aid = _guide(
        BITES, "蛇咬伤诊疗规范 > 六、蛇咬伤救治 > （一）现场自救",
        "（一）现场自救\n被蛇咬伤后应保持冷静，尽快远离蛇，判断是否为毒蛇咬伤，利用清洁水源冲洗伤口，同时呼叫120，"
        "及早转送有条件的救治医院。",
    )  # fmt: skip
    assert judge_basis(question, [first_aid], MEDICAL, weights).passages == [first_aid]


def test_first_aid_stories_reach_the_guideline_wording() -> None:
    for story, wording in [
        ("我爸突然倒地，不喘气了", "心搏骤停"),
        ("做饭时被热油溅到手上", "烧烫伤"),
        ("孩子游泳呛水了", "溺水"),
        ("老人吃饭时被一块肉卡住了", "气道异物"),
        ("孩子误喝了农药", "农药中毒"),
    ]:
        assert wording in MEDICAL.expand(story), story


# ---------------------------------------------------------------------- what a document is about (session 7)
def test_a_disease_guideline_answers_only_a_question_about_its_disease() -> None:
    from assistant.grounding.subject import guideline_subjects

    assert guideline_subjects(FLU) == ["流行性感冒"]
    assert guideline_subjects("近视防治指南、斜视和弱视诊疗指南（2026年版）") == ["近视", "斜视", "弱视"]
    assert guideline_subjects("儿童肺炎支原体肺炎诊疗指南（2025年版）") == ["肺炎支原体肺炎"]
    assert guideline_subjects(LITERACY) == guideline_subjects(BITES) == guideline_subjects(RARE) == []
    triage = _guide(
        FLU, "十一、医院感染控制措施 > （一）落实门急诊预检分诊制度，做好患者分流",
        "（一）落实门急诊预检分诊制度，做好患者分流\n医疗机构应当分开安置流感疑似和确诊患者，患者外出检查、转科或"
        "转院途中应当佩戴医用外科口罩。",
    )  # fmt: skip
    # an emergency department turning a patient away shares 急诊/转院/患者 with the flu guideline's triage rules
    refused = "病人情况很危险，急诊却说没有床位让我们自己转院，医院能这样拒绝抢救吗？"
    assert not fits_subject(MEDICAL.expand(refused), triage, MEDICAL)
    assert judge_basis(refused, [triage], MEDICAL).passages == []
    assert fits_subject(MEDICAL.expand("得了流感的病人去急诊要和别人分开吗？"), triage, MEDICAL)
    assert fits_subject("流感疫苗哪些人应该优先接种？", triage, MEDICAL)  # 流感 inside 流感疫苗
    # a topic of the category that lists the guideline names it too: 中风 and 脑血管病防治指南 are both 慢病管理
    stroke = _guide(
        "脑血管病防治指南（2024年版）", "第二章 脑血管病急救 > 一、提高早期识别能力",
        "一、提高早期识别能力\n公众应当掌握卒中早期症状的识别方法，发现疑似卒中患者立即拨打急救电话。",
    )  # fmt: skip
    assert fits_subject(MEDICAL.expand("怎样快速识别有人中风了？"), stroke, MEDICAL)
    assert not fits_subject(MEDICAL.expand("孩子发烧咳嗽要吃什么药？"), stroke, MEDICAL)


def test_a_dialysis_manual_is_about_dialysis_patients_throughout() -> None:
    from assistant.grounding.subject import for_other_patients

    bleeding = _guide(
        "血液净化标准操作规程（2021版）",
        "第三篇 血液净化临床操作和标准操作规程 > 第 10章 血液净化的抗凝治疗 > 一、评估治疗前患者的凝血状态",
        "（一）评估患者出血性疾病发生的风险\n既往存在支气管扩张、消化道溃疡、肝硬化、痔疮等潜在出血风险的疾病。",
    )  # fmt: skip
    assert for_other_patients("痔疮手术后多久能正常上班？", bleeding)
    assert not fits_subject("痔疮手术后多久能正常上班？", bleeding, MEDICAL)
    assert not for_other_patients("做血透的病人有痔疮，抗凝要注意什么？", bleeding)


def test_a_state_word_of_the_story_is_not_what_it_is_about() -> None:
    from assistant.grounding.relevance import topic_words
    from assistant.grounding.subject import subject_weights

    # 火辣辣 (jieba: a state word, like an adjective) tells how it hurts; 海蜇 and 淡水 are what is asked
    question = "去海边玩被海蜇蜇了，腿上火辣辣地疼，要用淡水冲吗？"
    words = topic_words(question)
    corpus = {"海边": 7.4, "玩": 9.0, "海蜇": 8.0, "蜇": 9.0, "腿": 8.9, "火辣辣": 9.0, "疼": 9.0}
    corpus |= {"淡水": 8.6, "冲": 9.0}
    weights = subject_weights(words, {w: corpus.get(w, 0.0) for w in words}, MEDICAL)
    assert weights["火辣辣"] == 4.5 and weights["海蜇"] == 8.0
    on_site = _guide(
        BITES, "海蜇蜇伤诊疗规范 > 七、治疗 > （二）现场处置",
        "（二）现场处置\n1.被海蜇蜇伤后，要立即上岸，尽快脱离蜇伤环境。\n2.用海水反复冲洗蜇伤部位，尽量清除局部毒液。"
        "但切勿用淡水或生理盐水清洗，避免因渗透压过低刺丝囊破裂引起毒素的大量释放而加重病情。",
    )  # fmt: skip
    assert judge_basis(question, [on_site], MEDICAL, weights).passages == [on_site]


def test_an_everyday_topic_heading_names_what_the_passage_answers_of_the_story() -> None:
    # the story's objects (菜板, 凉菜, 全家人) are the rarest words; the heading names 分开, which the passage covers
    question = "昨天切完生肉的菜板直接切了凉菜，全家人都拉肚子了，平时生的熟的要怎么分开？"
    weights = {"昨天": 0.0, "切": 4.5, "完": 4.5, "生肉": 9.0, "菜板": 9.0, "直接": 3.1, "凉菜": 9.0}
    weights |= {"全家人": 9.0, "拉肚子": 6.9, "生": 6.7, "熟": 4.5, "分开": 7.1}
    raw_and_cooked = _guide(
        LITERACY, "二、健康生活方式与行为 > 29. 生、熟食品要分开存放和加工，生吃蔬菜水果要洗净，不吃变质、超过保质期的食品。",
        "29. 生、熟食品要分开存放和加工。\n生食品是指制作食品的原料，如鱼、肉、蛋、禽、菜、粮等。在食品加工、贮存过程中，"
        "生、熟食品要分开。切过生食品的刀不能再直接切熟食品，避免生、熟食品直接或间接接触。",
    )  # fmt: skip
    assert judge_basis(question, [raw_and_cooked], MEDICAL, weights).passages == [raw_and_cooked]
