"""What a source document is: its kind (宪法, 法律, 行政法规, 司法解释, 部门规章, 地方性法规, 指南, 其他), the domains it
serves (a health statute serves legal AND medical questions), and the edition family of a guideline.

Pure functions of a title and a path, so the importer, the manifest migration and curation all agree.
"""

from __future__ import annotations

import re
from pathlib import Path

KINDS = ("宪法", "法律", "行政法规", "司法解释", "部门规章", "地方性法规", "指南", "其他")
GUIDELINE = "指南"
STATUTE_KINDS = frozenset(KINDS) - {GUIDELINE}

# The folders of ../shared/corpus/laws (the LawRefBook layout) and the kind each one holds.
KIND_BY_FOLDER: dict[str, str] = {
    "宪法": "宪法",
    "宪法相关法": "法律",
    "民法典": "法律",
    "民法商法": "法律",
    "社会法": "法律",
    "刑法": "法律",
    "行政法": "法律",
    "经济法": "法律",
    "诉讼与非诉讼程序法": "法律",
    "行政法规": "行政法规",
    "司法解释": "司法解释",
    "部门规章": "部门规章",
    "地方性法规": "地方性法规",
}

MEDICAL_KEYWORDS = (
    "医",
    "药",
    "卫生",
    "疾病",
    "传染病",
    "疫苗",
    "精神卫生",
    "母婴",
    "献血",
    "血液",
    "护士",
    "健康",
    "中医",
    "临床",
    "病原",
    "诊疗",
    "处方",
    "麻醉",
    "放射",
    "生物安全",
    "病防治",  # 职业病/尘肺病/艾滋病/血吸虫病防治 (not 病虫害防治)
    "人体器官",
    "艾滋病",
    "计划生育技术服务",
    "康复",
)
# Words that contain a medical keyword but are not about health care (农药 contains 药, 环境卫生 contains
# 卫生, ...). They are cut out of the title BEFORE the keywords are matched, so a title that is medical for
# another reason stays medical (放射性药品管理办法 still has 药品).
MEDICAL_EXCLUSIONS = (
    "农药",
    "兽药",
    "兽医",
    "弹药",
    "火药",
    "炸药",
    "环境卫生",
    "市容",
    "动物卫生",
    "放射性",
    "转基因生物安全",
    "化妆品卫生",
)

# 标准 alone is left out: 人体损伤程度鉴定标准 is a forensic (legal) standard, not a clinical guideline.
_GUIDELINE_WORDS = ("指南", "诊疗方案", "方案", "规范", "规程", "释义", "共识", "临床路径")
_LOCAL_RE = re.compile(r"^.{2,10}?(省|市|自治区|自治州|自治县|县)(?!场|民|容)")
# An edition marker at the end of a guideline title: （2025年版） （试行第十版） （2021版） （第二版） （试行）
_EDITION_RE = re.compile(r"[（(]\s*(?:试行)?\s*(?:第?[0-9一二三四五六七八九十]+\s*年?\s*版|试行)\s*[）)]\s*$")
_YEAR_RE = re.compile(r"((?:19|20)\d{2})\s*年?\s*版")
_EDITION_NO_RE = re.compile(r"第([0-9一二三四五六七八九十]+)版")


def guess_domain(title: str) -> str:
    """'medical' if the title matches a medical keyword once the exclusion words are cut out, else 'legal'.

    农药管理条例, 城市市容和环境卫生管理条例, 放射性污染防治法 -> legal; 药品管理法, 精神卫生法 -> medical.
    """
    for word in MEDICAL_EXCLUSIONS:
        title = title.replace(word, "|")  # a separator, so the cut cannot join two halves into a keyword
    return "medical" if any(k in title for k in MEDICAL_KEYWORDS) else "legal"


def guess_kind(title: str) -> str:
    """The kind of a source from its title alone (used when no folder or field says it)."""
    t = re.sub(r"\s+", "", title)
    t = t.removeprefix("中华人民共和国")
    if t.startswith("宪法"):
        return "宪法"
    if "最高人民法院" in t or "最高人民检察院" in t or re.search(r"(司法)?解释|批复$", t):
        return "司法解释"
    if t.endswith("法") or t.endswith("法典") or re.search(r"法[（(].*[）)]$", t):
        return "法律"
    if t.endswith("条例") or re.search(r"条例[（(].*[）)]$", t):
        return "地方性法规" if _LOCAL_RE.match(t) else "行政法规"
    if any(w in t for w in _GUIDELINE_WORDS):
        return GUIDELINE
    return "其他"


def kind_for_path(path: Path, title: str) -> str:
    """The kind from the corpus folder the file sits in (the nearest known folder), else from the title."""
    for part in reversed(Path(path).parent.parts):
        if part in KIND_BY_FOLDER:
            return KIND_BY_FOLDER[part]
    return guess_kind(title)


def normalize_kind(value: str) -> str:
    """A `kind` given in a file (JSONL/CSV column): one of KINDS; a few English words are accepted too."""
    v = value.strip()
    aliases = {
        "guideline": GUIDELINE,
        "guide": GUIDELINE,
        "law": "法律",
        "statute": "法律",
        "regulation": "行政法规",
        "interpretation": "司法解释",
        "rule": "部门规章",
        "constitution": "宪法",
        "local": "地方性法规",
        "other": "其他",
    }
    v = aliases.get(v.lower(), v)
    if v not in KINDS:
        raise ValueError(f"unknown kind {value!r} (one of {', '.join(KINDS)})")
    return v


def auto_domains(title: str, kind: str) -> list[str]:
    """The domains a document serves, primary first, when nobody chose them.

    Guidelines serve medical questions. Every statute serves legal questions; a health statute (医师法,
    药品管理法, 医疗纠纷预防和处理条例, 传染病防治法 …) serves medical questions too, and medical is its primary
    domain (a clinic asks about it more often than a court).
    """
    medical = guess_domain(title) == "medical"
    if kind == GUIDELINE:
        return ["medical"]
    return ["medical", "legal"] if medical else ["legal"]


def resolve_domains(title: str, kind: str, chosen: str = "") -> list[str]:
    """Domains of a document: `chosen` (the import's --domain or the row's `domain` field) first, then the
    automatic ones (so a health statute imported as `legal` is still seen by medical questions)."""
    auto = auto_domains(title, kind)
    if not chosen or chosen == "auto":
        return auto
    return [chosen] + [d for d in auto if d != chosen]


def parse_domains(value: str | list[str]) -> list[str]:
    """'legal,medical' or ['legal', 'medical'] -> ['legal', 'medical'] (order kept, duplicates dropped);
    raises ValueError naming the bad name."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for raw in items:
        name = str(raw).strip()
        if not name:
            continue
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,30}", name):
            raise ValueError(f"invalid domain {name!r} (a lowercase name such as legal or medical)")
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError("give at least one domain (e.g. legal,medical)")
    return out


def edition_family(title: str) -> str:
    """The document a guideline edition belongs to: its title without the edition marker.

    流行性感冒诊疗方案（2025年版） -> 流行性感冒诊疗方案; 新型冠状病毒感染诊疗方案（试行第十版） -> 新型冠状病毒感染诊疗方案.
    """
    t = re.sub(r"\s+", "", title)
    while True:
        stripped = _EDITION_RE.sub("", t)
        if stripped == t or not stripped:
            return t
        t = stripped


def edition_rank(title: str, effective_date: str = "") -> tuple[str, int]:
    """A sort key for editions of one family: the year (or effective date), then the edition number."""
    from knowledge.numerals import cn_to_int

    year = _YEAR_RE.search(title)
    when = effective_date or (year.group(1) if year else "")
    number = 0
    m = _EDITION_NO_RE.search(title)
    if m:
        try:
            number = cn_to_int(m.group(1))
        except ValueError:
            number = 0
    return when, number
