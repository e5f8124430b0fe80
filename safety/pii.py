"""PII masking: 18-digit ID-card numbers, mainland mobile numbers, and person names after 患者/当事人/….

Masking is idempotent (masking masked text changes nothing), so it can be applied both when a review copy
is stored and again when it is exported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# 18-digit resident ID: 6-digit area, birth date 18xx/19xx/20xx, 3-digit sequence, check digit.
ID_CARD_RE = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
# Mainland mobile: optional +86, 1[3-9]x, separators tolerated (138-1234-5678 / 138 1234 5678).
MOBILE_RE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")

# Common surnames. Characters that are mostly function words (向 于 和 对 有 应 …) are deliberately left
# out so that "当事人向法院起诉" / "患者有权…" are not mistaken for names.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧肖田董潘袁蔡蒋余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹熊白孟秦邱侯江尹薛闫段雷黎史龙陶贺顾毛郝龚邵万钱严覃武戴莫孔汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单"
    "季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚"
    "娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘"
    "池查麻苑迟邝"
)
_SURNAME_SET = set(SURNAMES) - set("和应时明全成常文安万单")
# Characters that end a name rather than belong to it: verbs and particles that typically follow a name.
_NAME_STOP = set(
    "说称因于在的到是每服近自诉患向与和被将把对今昨等来去现已曾于要想为也就都还及、，。,.;；:：（()）0123456789某"
)
# Words after a marker that start with a surname character but are not names (患者黄疸 / 患者高热 …).
_NOT_NAMES = (
    "黄疸",
    "高血",
    "高热",
    "高烧",
    "高龄",
    "高危",
    "高度",
    "白细",
    "白内",
    "白血",
    "方可",
    "方面",
    "方式",
    "于是",
    "程度",
    "范围",
    "家属",
    "管理",
    "管道",
    "石膏",
    "毛发",
    "路途",
    "沙门",
    "甘油",
    "谷丙",
    "谷草",
    "卫生",
    "宫颈",
    "宫内",
    "宫外",
    "骆驼",
    "车祸",
    "车辆",
    "房颤",
    "房间",
    "房屋",
    "钱款",
    "金额",
    "苗头",
    "关于",
    "关系",
    "任何",
    "全部",
    "全身",
    "严重",
    "成年",
    "陆续",
    "乔迁",
    "景象",
    "江湖",
    "童年",
    "司法",
    "明确",
    "明显",
    "党员",
    "席位",
    "华法",
    "米索",
    "舒张",
    "柯萨",
    "鲁莽",
    "曲线",
    "甄别",
    "左侧",
    "左右",
    "右侧",
    "单位",
    "冷静",
    "游泳",
    "龙头",
    "简单",
    "尚未",
    "尚且",
    "孟鲁",
    "罗红",
    "卢戈",
    "邢台",
    "雷尼",
)
_COMPOUND = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "令狐",
    "夏侯",
    "长孙",
    "宇文",
    "司徒",
    "端木",
    "西门",
    "独孤",
    "南宫",
)
_TITLES = ("先生", "女士", "小姐", "老师", "医生", "同志", "某")
_FOLLOW_WORDS = (
    "主诉",
    "自述",
    "自诉",
    "诉称",
    "入院",
    "就诊",
    "出现",
    "反映",
    "表示",
    "患有",
    "今年",
    "年龄",
    "因为",
    "由于",
    "先生",
    "女士",
    "小姐",
    "同志",
    "男",
    "女",
    "岁",
    "既往",
    "病史",
    "经",
    "于",
    "因",
    "在",
    "称",
    "诉",
    "到",
    "向",
)
DEFAULT_NAME_MARKERS: tuple[str, ...] = (
    "患者",
    "病人",
    "病患",
    "当事人",
    "原告",
    "被告",
    "申请人",
    "被申请人",
)


def _mask_mobile(m: re.Match[str]) -> str:
    return f"{m.group(1)}****{m.group(3)}"


def mask_names(text: str, markers: Sequence[str] = DEFAULT_NAME_MARKERS) -> str:
    """Replace a person name right after a marker (患者张三 → 患者张某), keeping the surname only."""
    if not markers:
        return text
    marker_re = "|".join(sorted((re.escape(m) for m in markers), key=len, reverse=True))
    pattern = re.compile(rf"({marker_re})([:：]?\s?)([\u4e00-\u9fff])([\u4e00-\u9fff]{{0,2}})")
    compound = re.compile(rf"({marker_re})([:：]?\s?)({'|'.join(_COMPOUND)})([\u4e00-\u9fff]{{1,2}})")

    def repl(m: re.Match[str]) -> str:
        surname, rest = m.group(3), m.group(4)
        if surname not in _SURNAME_SET or (surname + rest).startswith(_NOT_NAMES + _COMPOUND):
            return m.group(0)
        after = m.string[m.start(4) : m.start(4) + 6]
        if not rest or rest[0] in _NAME_STOP or after.startswith(_TITLES):
            # A bare surname, 张某 or 张先生 is already anonymous enough.
            return m.group(0)
        given = rest[0]
        # A second given-name character, unless it starts a word that usually follows a name (张三主诉…).
        if len(rest) > 1 and rest[1] not in _NAME_STOP and not after[1:].startswith(_FOLLOW_WORDS):
            given += rest[1]
        tail = rest[len(given) :]
        return f"{m.group(1)}{m.group(2)}{surname}某{tail}"

    def repl_compound(m: re.Match[str]) -> str:
        rest = m.group(4)
        if rest[0] in _NAME_STOP:
            return m.group(0)
        keep = (
            rest[1:]
            if len(rest) > 1
            and (rest[1] in _NAME_STOP or m.string[m.start(4) + 1 :].startswith(_FOLLOW_WORDS))
            else ""
        )
        return f"{m.group(1)}{m.group(2)}{m.group(3)}某{keep}"

    return pattern.sub(repl, compound.sub(repl_compound, text))


def mask_pii(
    text: str,
    *,
    id_cards: bool = True,
    phones: bool = True,
    names: bool = True,
    name_markers: Sequence[str] = DEFAULT_NAME_MARKERS,
) -> str:
    """Mask ID-card numbers (→ [身份证号]), mobiles (138****5678) and names after markers (患者张某)."""
    if not text:
        return text
    if id_cards:
        text = ID_CARD_RE.sub("[身份证号]", text)
    if phones:
        text = MOBILE_RE.sub(_mask_mobile, text)
    if names:
        text = mask_names(text, name_markers)
    return text


def contains_pii(text: str) -> bool:
    """True when `text` holds an unmasked ID-card number or mobile number."""
    return bool(ID_CARD_RE.search(text or "") or MOBILE_RE.search(text or ""))
