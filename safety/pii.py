"""PII masking on the normalised form of the text, for every kind a question carries in practice.

Kinds: resident ID numbers (18 digits with a valid birth date, and the old 15-digit form), mainland mobile
numbers (+86 optional), landlines (010-12345678, (0755)1234567), bank cards (16–19 digits, Luhn-checked),
e-mail addresses, street addresses (road + number, estate + building/unit/room, or what follows 住址/家住),
and person names after a marker word — 患者/当事人/原告… and self-introductions such as 我叫欧阳娜娜,
本人王小明, 姓名：…, 我是张伟，….

Matching happens on a normalised view of the text (NFKC: full-width １３７ → 137, ＠ → @; invisible
characters such as U+200B / U+3164 removed), and digits may be grouped by spaces, dots, dashes or
parentheses (110101 19900307 1235, 136.1122.3344, 138-1234-5678); the masks are then applied to the
original text at the places the view maps back to, so nothing else in the text changes. Masking is
idempotent (masking masked text changes nothing): review copies are masked when stored and again on export.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from safety.normalize import remove_invisible

ID_MASK = "[身份证号]"
BANK_MASK = "[银行卡号]"
PHONE_MASK = "[电话号码]"
EMAIL_MASK = "[邮箱]"
ADDRESS_MASK = "[地址]"

# Public service lines are not personal data: never masked (digits only).
DEFAULT_PUBLIC_NUMBERS: tuple[str, ...] = ("01082951332", "4001619995", "8008101117")

# A run of digits that may be grouped by separators (up to three of them between digits), ending in an
# optional X (ID check digit). Each run is split into its groups and classified below.
_SEP = r"[\s\-.·•_/()（）]"
_DIGIT_RUN = re.compile(rf"(?<![\d])\d(?:{_SEP}{{0,3}}\d)*(?:{_SEP}{{0,3}}[Xx](?![A-Za-z]))?")
_GROUP_SPLIT = re.compile(rf"{_SEP}+")
_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+\-]*\s?@\s?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

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
    "说称因于在的到是每服近自诉患向与和被将把对今昨等来去现已曾于要想为也就都还及请让给问找带、，。,.;；:：（()）0123456789某"
)
# Words after a marker that start with a surname character but are not names (患者黄疸 / 本人高中毕业 …).
_NOT_NAMES = (
    "黄疸", "高血", "高热", "高烧", "高龄", "高危", "高度", "高中", "高校", "高考", "高兴", "白细", "白内", "白血",
    "方可", "方面", "方式", "于是", "程度", "范围", "家属", "管理", "管道", "石膏", "毛发", "路途", "沙门", "甘油",
    "谷丙", "谷草", "卫生", "宫颈", "宫内", "宫外", "骆驼", "车祸", "车辆", "房颤", "房间", "房屋", "钱款", "金额",
    "苗头", "关于", "关系", "任何", "全部", "全身", "严重", "成年", "陆续", "乔迁", "景象", "江湖", "童年", "司法",
    "明确", "明显", "党员", "席位", "华法", "米索", "舒张", "柯萨", "鲁莽", "曲线", "甄别", "左侧", "左右", "右侧",
    "单位", "冷静", "游泳", "龙头", "简单", "尚未", "尚且", "孟鲁", "罗红", "卢戈", "邢台", "雷尼", "孙子", "孙女",
    "宁愿", "宁可", "安全", "安排", "包括", "包含", "连续", "连带", "时间", "常年", "从事", "申请", "申报", "申诉",
    "农民", "农村", "农业", "司机", "卓越", "古代", "吉林", "项目", "车主", "麦片", "师傅", "师范", "商人", "商户",
    "沙发", "荣誉", "郎中", "虞城", "丛林", "仲裁", "金融", "石家", "黎明", "史上", "龙岗", "贺州", "顾客", "毛病",
    "邵阳", "万元", "钱财", "严格", "武汉", "戴口", "孔子", "汤药", "温州", "康复", "施工", "文件", "文化", "牛奶",
    "葛根", "齐全", "易感", "乔木", "伍佰", "庞大", "颜色", "庄稼", "章程", "岳父", "岳母", "殷切", "申明", "欧洲",
    "耿直", "关节", "兰州", "焦虑", "左手", "柳州", "甘肃", "包头", "宁波", "宁夏", "尚在", "符合", "舒服", "阮囊",
    "柯城", "纪律", "梅毒", "童工", "凌晨", "毕业", "季节", "霍乱", "涂抹", "苗族", "谷物", "盛行", "曲折", "翁婿",
    "冉冉", "蓝色", "游戏", "辛苦", "管制", "蒙古", "华人", "喻示", "房产", "屈服", "饶恕", "解除", "解决", "解释",
    "牟利", "艾滋", "尤其", "阳性", "时候", "穆斯", "卓有", "古董", "吉利", "缪斯", "简历", "连锁", "芦荟", "褚色",
    "景区", "党委", "宫殿", "费用", "卜卦", "冷冻", "席卷", "卫健", "米饭", "柏油", "宗教", "桂林", "边境", "卞和",
    "师生", "隋朝", "商业", "沙漠", "巫术", "寇仇", "桑拿", "甄选", "虞美", "敖包", "巩固", "池塘", "查询", "查看",
    "麻醉", "麻疹", "迟到", "杨梅", "黄金", "黄色", "王者", "周围", "周岁", "周末", "马上", "朱砂", "林业", "罗马",
    "郑州", "梁山", "谢谢", "宋体", "唐山", "许可", "韩国", "冯氏", "邓氏", "彭湃", "曾经", "萧条", "肖像", "田地",
    "董事", "潘多", "袁氏", "蔡氏", "蒋氏", "余额", "杜绝", "叶酸", "程序", "苏州", "魏氏", "吕氏", "丁香", "任职",
    "沈阳", "姚氏", "卢氏", "姜汤", "崔氏", "钟点", "谭氏", "陆地", "汪氏", "范畴", "金钱", "夏天", "夏季", "韦氏",
    "付款", "付费", "方法", "方案", "邹氏", "熊猫", "白天", "孟氏", "秦皇", "邱氏", "侯氏", "江苏", "江西", "尹氏",
    "薛氏", "闫氏", "段落", "雷电", "黎族", "史料", "陶瓷", "贺卡", "顾问", "毛巾", "郝氏", "龚氏", "邵氏", "钱包",
    "严禁", "覃氏", "武器", "莫名", "孔雀", "汤圆", "常规", "温度", "康乃", "施行", "文明", "牛肉", "樊氏", "葛氏",
    "邢氏", "安徽", "齐鲁", "易于", "伍氏", "倪氏", "庄园", "聂氏", "章节", "鲁迅", "詹氏", "陈述", "陈列", "陈旧", "迟发", "易出", "关注", "冷却", "安置", "宁静", "常见",
)  # fmt: skip
_COMPOUND = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "长孙", "宇文",
    "司徒", "端木", "西门", "独孤", "南宫",
)  # fmt: skip
_TITLES = ("先生", "女士", "小姐", "老师", "医生", "同志", "某", "律师", "护士", "主任", "经理", "总")
_FOLLOW_WORDS = (
    "主诉", "自述", "自诉", "诉称", "入院", "就诊", "出现", "反映", "表示", "患有", "今年", "年龄", "因为", "由于",
    "先生", "女士", "小姐", "同志", "男", "女", "岁", "既往", "病史", "经", "于", "因", "在", "称", "诉", "到", "向",
)  # fmt: skip
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
# Self-introductions: a name follows without any 患者/当事人 word.
SELF_INTRO_MARKERS: tuple[str, ...] = (
    "我叫",
    "我名叫",
    "名叫",
    "叫做",
    "本人",
    "姓名",
    "我的名字是",
    "我的名字叫",
    "名字叫",
    "名字是",
    "联系人",
    "签名",
)
# "我是张伟" is a name only when the sentence stops right after it (我是张伟，… / 我是张伟今年…), not 我是高血压患者.
_STRICT_MARKERS: tuple[str, ...] = ("我是",)
_STRICT_END = re.compile(r"$|[，,。.！!？?；;、\s]|今年|男|女|[0-9]")

# Addresses. Province/city/district stay (they identify nobody); the street-level part is masked.
_HAN = r"[\u4e00-\u9fff]"
_NUM = r"(?:\d+|[一二三四五六七八九十百零〇两]+)"
_UNIT_PART = rf"(?:\s?(?:{_NUM}|[A-Za-z])\s?(?:号楼|栋|幢|座|楼|单元|层|室|号|户|期|区|组))"
_ROOM = r"(?:\s?\d{2,5}(?:室|号)?)?"  # a bare room number after the building/unit
# A street/estate name does not run across 市/区/县 nor start with the verb before it (住在…, 是…).
_PLACE = r"(?:(?![省市区县镇乡在住是的我到去从于了])[\u4e00-\u9fff])"
_ADDRESS_PATTERNS = (
    # …路88号 / …大街12号院3号楼2单元501室
    re.compile(
        rf"{_PLACE}{{1,12}}?(?:路|街|大道|大街|巷|胡同|弄)\s?{_NUM}\s?(?:号|弄|巷)(?:院)?{_UNIT_PART}*{_ROOM}"
    ),
    # …小区3栋2单元501 / …花园5号楼1201室 / …村3组
    re.compile(
        rf"{_PLACE}{{2,10}}?(?:小区|花园|公寓|大厦|家园|新村|新城|苑|村|社区)\s?{_NUM}\s?"
        rf"(?:号楼|栋|幢|座|期|组)(?:{_UNIT_PART})*{_ROOM}"
    ),
    # 3栋2单元501室 / 5号楼1201 on its own
    re.compile(r"\d+\s?(?:号楼|栋|幢|座)\s?(?:\d+\s?单元)?\s?\d{2,5}\s?(?:室|号)?"),
)
# After a noun (住址：…) any place word makes it an address; after a verb (住在…) only a street-level one does
# (居住在本行政区域内的民族 is statute language, not an address).
_ADDRESS_MARKER = re.compile(
    r"(?P<marker>家庭住址|居住地址|现住址|住址|地址|家住|户籍地|现住|居住在|住在)(?:是|为|在)?[:：]?\s*"
    r"(?P<addr>(?![和及与或、等])[^\s，。,;；！!？?\[\]]{3,40})"
)
_NOUN_MARKERS = {"家庭住址", "居住地址", "现住址", "住址", "地址", "家住", "户籍地"}
_ADDRESS_WORDS = re.compile(r"\d|省|市|区|县|镇|乡|村|路|街|巷|弄|小区|栋|幢|单元|室|苑|花园|公寓|大厦")
_STREET_WORDS = re.compile(r"\d|路|街|巷|弄|胡同|小区|栋|幢|单元|室|号楼|花园|公寓|大厦")


@dataclass(frozen=True)
class _Span:
    """A piece of the normalised view to replace: [start, end) and the replacement."""

    start: int
    end: int
    mask: str


def normalised_view(text: str) -> tuple[str, list[int]]:
    """NFKC per character with invisible characters dropped, and for each view character the index of the
    source character it came from (so masks found on the view land on the right place in the source)."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            chars.append(ch)
            where.append(i)
            continue
        for c in remove_invisible(unicodedata.normalize("NFKC", remove_invisible(ch))):
            chars.append(c)
            where.append(i)
    return "".join(chars), where


# ---------------------------------------------------------------------------------------------- numbers
def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return 1900 <= y <= 2100


def _is_id18(s: str) -> bool:
    if len(s) != 18 or s[0] == "0" or not s[:17].isdigit() or not (s[17].isdigit() or s[17] in "Xx"):
        return False
    return _valid_date(int(s[6:10]), int(s[10:12]), int(s[12:14]))


def _is_id15(s: str) -> bool:
    # The old 15-digit number writes no century. Read as 19YY 「000229」 is a day that never was (1900 is not a
    # leap year) and the number went unmasked (found by the generated-forms test); either century's reading
    # makes it ID-shaped, and a masked look-alike costs nothing next to a leaked ID.
    if len(s) != 15 or s[0] == "0" or not s.isdigit():
        return False
    yy, m, d = int(s[6:8]), int(s[8:10]), int(s[10:12])
    return _valid_date(1900 + yy, m, d) or _valid_date(2000 + yy, m, d)


def _luhn(s: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_mobile(s: str) -> bool:
    if s.startswith("86") and len(s) == 13:
        s = s[2:]
    return len(s) == 11 and s[0] == "1" and s[1] in "3456789"


def _is_landline(s: str) -> bool:
    # 0 + area code (010, 02x, or 0 + 3 digits) + a 7- or 8-digit number
    if len(s) < 10 or not s.startswith("0") or not s.isdigit():
        return False
    area = 3 if s[1] in "12" else 4
    return len(s) - area in (7, 8)


def _classify(digits: str, keep: set[str], groups: Sequence[str] = ()) -> str | None:
    """The mask for a digit string written as `groups`, or None when it is none of the PII kinds (or a public
    number). IDs and mobiles are distinctive in any grouping (1 3 8 1 2 3 4 … included); bank cards and
    landlines only in the ways they are written (6222 0212 …, 010-12345678), not a table row of single digits."""
    if digits in keep:
        return None
    if _is_id18(digits) or _is_id15(digits):
        return ID_MASK
    if not digits.isdigit():
        return None
    if _is_mobile(digits):
        tail = digits[-11:]
        lead = f"{digits[:2]} " if len(digits) == 13 else ""  # +86 stays readable
        return f"{lead}{tail[:3]}****{tail[-4:]}"
    if (
        16 <= len(digits) <= 19
        and len(groups) <= 6
        and min(map(len, groups or [digits])) >= 3
        and _luhn(digits)
    ):
        return BANK_MASK
    if _is_landline(digits) and len(groups) <= 3 and (len(groups) <= 1 or len(groups[0]) in (3, 4)):
        return PHONE_MASK
    return None


def _number_spans(view: str, keep: set[str], kinds: set[str]) -> list[_Span]:
    """Every grouped digit run, or the longest runs of its consecutive groups, that is a PII number."""
    out: list[_Span] = []
    for run in _DIGIT_RUN.finditer(view):
        groups = [
            (m.start() + run.start(), m.end() + run.start()) for m in re.finditer(r"[\dXx]+", run.group())
        ]
        i = 0
        while i < len(groups):
            found = None
            for j in range(len(groups), i, -1):  # longest sequence of groups first
                parts = [view[a:b] for a, b in groups[i:j]]
                mask = _classify("".join(parts), keep, parts)
                if mask is not None and _kind_of(mask) in kinds:
                    found = (j, mask)
                    break
            if found is None:
                i += 1
                continue
            j, mask = found
            out.append(_Span(groups[i][0], groups[j - 1][1], mask))
            i = j
    return out


def _kind_of(mask: str) -> str:
    if mask == ID_MASK:
        return "id"
    if mask == BANK_MASK:
        return "bank"
    if mask == PHONE_MASK:
        return "landline"
    return "mobile"


# ---------------------------------------------------------------------------------------------- names
def _name_spans(view: str, markers: Sequence[str], strict: Sequence[str]) -> list[_Span]:
    """Person names right after a marker word: 患者张三 → 患者张某, 我叫欧阳娜娜 → 我叫欧阳某."""
    out: list[_Span] = []
    all_markers = [*markers, *strict]
    if not all_markers:
        return out
    marker_re = "|".join(sorted((re.escape(m) for m in all_markers), key=len, reverse=True))
    pattern = re.compile(rf"({marker_re})([:：是为]?\s?)([\u4e00-\u9fff])([\u4e00-\u9fff]{{0,2}})")
    compound = re.compile(rf"({marker_re})([:：是为]?\s?)({'|'.join(_COMPOUND)})([\u4e00-\u9fff]{{1,2}})")
    strict_set = set(strict)
    taken: list[tuple[int, int]] = []

    for m in compound.finditer(view):
        rest = m.group(4)
        if rest[0] in _NAME_STOP:
            continue
        given = (
            rest[0]
            if len(rest) > 1 and (rest[1] in _NAME_STOP or view[m.start(4) + 1 :].startswith(_FOLLOW_WORDS))
            else rest
        )
        end = m.start(4) + len(given)
        if m.group(1) in strict_set and not _STRICT_END.match(view, end):
            continue
        out.append(_Span(m.start(4), end, "某"))
        taken.append((m.start(), end))

    for m in pattern.finditer(view):
        if any(a <= m.start(3) < b for a, b in taken):
            continue
        surname, rest = m.group(3), m.group(4)
        if surname not in _SURNAME_SET or (surname + rest).startswith(_NOT_NAMES + _COMPOUND):
            continue
        after = view[m.start(4) : m.start(4) + 6]
        if not rest or rest[0] in _NAME_STOP or after.startswith(_TITLES):
            continue  # a bare surname, 张某 or 张先生 is anonymous enough already
        given = rest[0]
        # A second given-name character, unless it starts a word that usually follows a name (张三主诉…).
        if len(rest) > 1 and rest[1] not in _NAME_STOP and not after[1:].startswith(_FOLLOW_WORDS):
            given += rest[1]
        options = [given]
        if len(given) > 1:
            # jieba reads 张三 as one word and ends it there (张三|请): the shorter name first
            one_word = not _segment_bounds(view, m.start(3), m.start(4)) and _segment_bounds(
                view, m.start(3), m.start(4) + 1
            )
            options = [given[:1], given] if one_word else [given, given[:1]]
        for name in options:
            end = m.start(4) + len(name)
            if m.group(1) in strict_set and not _STRICT_END.match(view, end):
                continue
            # A word that is also a place name (罗兰) is a name when the clause stops right after it.
            place_ok = bool(_STRICT_END.match(view, end))
            if (
                not _name_ends_at(view, m.start(3), end)
                or _common_non_name(surname + name[0], place_is_name=place_ok)
                or (len(name) > 1 and _common_non_name(surname + name, 20, place_is_name=place_ok))
            ):
                continue  # 患者高钾血症 / 患者易出现 / 本人陈述: the "name" runs into a word, or is one
            out.append(_Span(m.start(4), end, "某"))
            break
    return out


def _name_ends_at(view: str, start: int, end: int) -> bool:
    """Whether view[start:end] can be a name: its end is not inside a word of the sentence (jieba's
    segmentation of the surrounding text: 患者/高钾血症 — 高钾血 is not a name; 患者/张三/请 — 张三 is),
    and its last character does not form a common word with the next one (易出|现: 出现)."""
    if end >= len(view):
        return True
    if not _segment_bounds(view, start, end):
        return False
    return _word_freq(view[end - 1 : end + 1]) < _COMMON_WORD


def _segment_bounds(view: str, start: int, end: int) -> bool:
    """Whether jieba's segmentation of the text around view[start:end] has a word boundary at `end`."""
    if end >= len(view):
        return True
    lo, hi = max(0, start - 4), min(len(view), end + 6)
    with _SEGMENT_LOCK:
        tokens = _jieba_module().lcut(view[lo:hi], HMM=False)
    pos = lo
    for tok in tokens:
        pos += len(tok)
        if pos == end:
            return True
    return False


_COMMON_WORD = 2000  # jieba dictionary frequency above which two characters are a word, not a name's end


_SEGMENT_LOCK = threading.Lock()  # jieba initialises lazily and not thread-safely


def _jieba_module():  # noqa: ANN202 - jieba ships no type hints
    import jieba  # the dictionary the classifier loads anyway; only asked for when a name candidate is found

    jieba.setLogLevel(logging.WARNING)
    return jieba


def _jieba():  # noqa: ANN202
    import jieba.posseg

    with _SEGMENT_LOCK:
        _jieba_module().dt.check_initialized()
    return jieba.dt.FREQ, jieba.posseg.dt.word_tag_tab


def _word_freq(word: str) -> int:
    return int(_jieba()[0].get(word, 0))


def _common_non_name(word: str, min_freq: int = 50, *, place_is_name: bool = False) -> bool:
    """A dictionary word at least this frequent that jieba does not tag as a person name (周围, 毛囊炎 — not 李娜);
    with `place_is_name`, a word tagged as a place name (罗兰, also a given name) does not count either."""
    freq, tags = _jieba()
    tag = str(tags.get(word, ""))
    return int(freq.get(word, 0)) >= min_freq and not (
        tag.startswith("nr") or (place_is_name and tag.startswith("ns"))
    )


def mask_names(text: str, markers: Sequence[str] = DEFAULT_NAME_MARKERS) -> str:
    """Replace a person name right after a marker (患者张三 → 患者张某), keeping the surname only."""
    return _apply(text, lambda view: _name_spans(view, markers, ()))


# ---------------------------------------------------------------------------------------------- addresses
def _address_spans(view: str) -> list[_Span]:
    """What follows 住址/家住/住在… when it reads as an address, and street-level addresses anywhere else."""
    out = [
        _Span(m.start("addr"), m.end("addr"), ADDRESS_MASK)
        for m in _ADDRESS_MARKER.finditer(view)
        if (_ADDRESS_WORDS if m.group("marker") in _NOUN_MARKERS else _STREET_WORDS).search(m.group("addr"))
    ]
    for pat in _ADDRESS_PATTERNS:
        for m in pat.finditer(view):
            if not any(s.start < m.end() and m.start() < s.end for s in out):
                out.append(_Span(m.start(), m.end(), ADDRESS_MASK))
    return out


# ---------------------------------------------------------------------------------------------- masking
def _apply(text: str, finder: Callable[[str], list[_Span]]) -> str:
    """Find spans on the normalised view, resolve overlaps (the earlier, then the longer, wins), and replace
    the source characters they map back to."""
    if not text:
        return text
    view, where = normalised_view(text)
    chosen: list[_Span] = []
    for s in sorted(finder(view), key=lambda s: (s.start, -(s.end - s.start))):
        if s.end > s.start and (not chosen or s.start >= chosen[-1].end):
            chosen.append(s)
    if not chosen:
        return text
    pieces: list[str] = []
    pos = 0
    for s in chosen:
        a, b = where[s.start], where[s.end - 1] + 1
        if a < pos:
            continue
        pieces += [text[pos:a], s.mask]
        pos = b
    pieces.append(text[pos:])
    return "".join(pieces)


def mask_pii(
    text: str,
    *,
    id_cards: bool = True,
    phones: bool = True,
    names: bool = True,
    name_markers: Sequence[str] = DEFAULT_NAME_MARKERS,
    bank_cards: bool = True,
    emails: bool = True,
    addresses: bool = True,
    self_intro: bool = True,
    keep_numbers: Sequence[str] = DEFAULT_PUBLIC_NUMBERS,
) -> str:
    """Mask every enabled kind on the normalised form: ID numbers → [身份证号], mobiles → 138****5678,
    landlines → [电话号码], bank cards → [银行卡号], e-mail → [邮箱], street addresses → [地址], names after a
    marker or in a self-introduction → 张某 (surname kept). `keep_numbers`: public lines, never masked."""
    kinds = {
        k
        for k, on in (("id", id_cards), ("mobile", phones), ("landline", phones), ("bank", bank_cards))
        if on
    }
    keep = {re.sub(r"\D", "", n) for n in keep_numbers}

    def find(view: str) -> list[_Span]:
        spans: list[_Span] = []
        if emails:
            spans += [_Span(m.start(), m.end(), EMAIL_MASK) for m in _EMAIL.finditer(view)]
        if kinds:
            spans += _number_spans(view, keep, kinds)
        if addresses:
            spans += _address_spans(view)
        if names:
            spans += _name_spans(view, name_markers, ())
            if self_intro:
                spans += _name_spans(view, SELF_INTRO_MARKERS, _STRICT_MARKERS)
        return spans

    return _apply(text, find)


def contains_pii(text: str) -> bool:
    """True when `text` holds an unmasked ID number, mobile number or bank card (in any written form)."""
    if not text:
        return False
    view, _ = normalised_view(text)
    return bool(_number_spans(view, set(DEFAULT_PUBLIC_NUMBERS), {"id", "mobile", "bank"}))
