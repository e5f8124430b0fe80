"""The domains' everyday -> formal vocabularies (domain.yaml `synonyms`): broad, every entry able to fire, and
no entry firing inside a longer word that means something else."""

from __future__ import annotations

import pytest

from assistant.domains import load_domains
from knowledge.textproc import find_whole_words


@pytest.fixture(scope="module")
def medical():
    return load_domains()["medical"]


def test_medical_vocabulary_is_broad_and_every_key_can_fire(medical) -> None:
    assert len(medical.synonyms) >= 250
    dead = [k for k in medical.synonyms if k not in find_whole_words(f"请问{k}怎么办", [k])]
    assert dead == []
    # an entry adds wording (打喷嚏 -> 喷嚏 helps too: jieba keeps 打喷嚏 one token, the guidelines write 喷嚏)
    assert [k for k, v in medical.synonyms.items() if all(w == k for w in v)] == []


@pytest.mark.parametrize(
    ("question", "clinical"),
    [
        ("孩子羊癫疯发作怎么办", "癫痫"),
        ("打点滴和吃药哪个好", "静脉输液"),
        ("脑溢血有什么征兆", "脑出血"),
        ("牛皮癣会传染吗", "银屑病"),
        ("扑热息痛能和布洛芬一起吃吗", "对乙酰氨基酚"),
        ("冬天煤气中毒怎么急救", "一氧化碳中毒"),
        ("肚子疼拉稀怎么办", "腹痛"),
        ("被蝎子蛰了要紧吗", "蝎蜇伤"),
        ("尿毒症一定要洗肾吗", "血液透析"),
        ("孩子长不高要查什么", "身材矮小"),
        ("乙肝疫苗一共要打几针", "免疫程序"),
    ],
)
def test_medical_patient_words_reach_clinical_wording(medical, question: str, clinical: str) -> None:
    assert clinical in medical.expand(question)


@pytest.mark.parametrize(
    ("question", "absent"),
    [
        ("这对眼睛有害吗", "斜视"),  # 对眼 (crossed eyes) is not in 对/眼睛
        ("小腿抽筋是缺钙吗", "抽搐"),  # a cramp is not a convulsion: 抽筋 has no entry
        ("禽流感会人传人吗", "流行性感冒"),  # 流感 inside the noun 禽流感
        ("生长激素缺乏症怎么治", "糖皮质激素"),  # 激素 inside 生长激素
        ("医学生怎么实习", "儿童青少年"),  # 学生 inside 医学生
        ("太阳了晒伤怎么办", "新型冠状病毒感染"),  # 阳了 inside 太阳
        ("伤口缝了几针，什么时候拆线", "免疫程序"),  # stitches are no vaccine doses: only 打几针 fires
    ],
)
def test_medical_vocabulary_does_not_fire_inside_other_words(medical, question: str, absent: str) -> None:
    assert absent not in medical.expand(question)


@pytest.fixture(scope="module")
def legal():
    return load_domains()["legal"]


@pytest.mark.parametrize(
    ("question", "statutory"),
    [
        ("上下班路上被车撞了算工伤吗？", "上下班途中"),
        ("上下班路上被车撞了算工伤吗？", "交通事故"),
        ("房东把房子卖了，租房合同还有效吗？", "所有权变动"),
        ("租的房子坏了谁来修？", "租赁物"),
        ("租期还没到房东要收回房子怎么办", "租赁期限"),
        ("退租时房东押金不退怎么办", "返还"),
        ("怀孕期间公司能开除我吗", "孕期内"),
        ("公司不给交社保，我能辞职吗", "缴纳社会保险费"),
        ("公司拖欠工资，我能直接走人吗", "劳动者可以解除劳动合同"),
        ("骑电动车被撞了能要求赔偿哪些费用", "非机动车"),
    ],
)
def test_legal_everyday_words_reach_statutory_wording(legal, question: str, statutory: str) -> None:
    assert statutory in legal.expand(question)


def test_legal_tenancy_words_do_not_fire_inside_other_words(legal) -> None:
    assert "返还" not in legal.expand("商品一经售出概不退换有效吗")  # 不退换 is not 押金不退
    assert "租赁物" not in legal.expand("出租车司机拒载怎么办")
