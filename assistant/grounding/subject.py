"""What a guideline passage is *about*: its document's subject, and when a question is about it.

A passage can share every word of a question and still be about something else:
- one document can hold many diseases — the rare-disease compendium (软骨发育不全等86个罕见病病种诊疗指南) is
  86 guides in numbered parts (「35. 巨细胞动脉炎」), 常见动物致伤诊疗规范 holds one guide per animal
  (「蛇咬伤诊疗规范」). Each part is a document of its own: a passage of 巨细胞动脉炎 that mentions 脑卒中 is no
  basis for a question on 中风, and a numbered disease part answers only a question that names its disease;
- a differential-diagnosis section (鉴别诊断) describes *other* diseases only to tell them apart: the flu
  guideline's 「新冠病毒感染与流感临床表现类似」 answers 「流感和新冠有什么区别」, not 「新冠有哪些症状」.
"""

from __future__ import annotations

import re

from knowledge.types import Passage

_SEP = " > "
# 「35. 巨细胞动脉炎」: a numbered disease part of a multi-disease compendium.
_NUMBERED_PART = re.compile(r"^\s*(\d{1,3})\s*[.．、]\s*(?!\d)(.+)$")
# 「蛇咬伤诊疗规范」: a whole guide embedded as a part of a collection.
_COMPENDIUM = re.compile(r"等\s*[\d一二三四五六七八九十百]+\s*[个种类]|汇编|合集")
_EMBEDDED_GUIDE = re.compile(r"^[^一二三四五六七八九十第（(]\S{0,20}(?:诊疗规范|诊疗指南|诊疗方案|防治指南)$")
_GUIDE_SUFFIX = re.compile(r"(?:诊疗规范|诊疗指南|诊疗方案|防治指南)$")
_DIFFERENTIAL = "鉴别"
# The question asks to tell things apart (流感和普通感冒有什么区别 / 是感冒还是流感).
_ASKS_DISTINCTION = re.compile(r"区别|区分|鉴别|分辨|辨别|不同|不一样|怎么分|还是")


def _paths(p: Passage) -> list[str]:
    if p.article_no is not None:
        return []
    own = str(getattr(p, "section", "") or "")
    more = [s for s in (getattr(p, "sections", None) or []) if s]
    return [s for s in dict.fromkeys([own, *more]) if s]


def part_of(p: Passage) -> tuple[str, bool]:
    """(part name, numbered) of the guide inside a multi-part document the passage belongs to; ('', False)
    for a passage of a single-subject document (its top heading is 一、… / 第X章 / 引言)."""
    paths = _paths(p)
    if not paths:
        return "", False
    top = paths[0].split(_SEP)[0].strip()
    m = _NUMBERED_PART.match(top)
    if m and _COMPENDIUM.search(p.law):
        # An arabic-numbered top-level heading of a compendium (…等86个罕见病病种诊疗指南): one disease per part.
        # (A single guideline numbered 1.概述 / 2.病因 at the top is not a compendium: its title says so.)
        return m.group(2).strip(), True
    if _EMBEDDED_GUIDE.match(top):
        return top, False
    return "", False


# 「13. 家养犬、猫应接种兽用狂犬病疫苗；人被犬、猫抓伤…」: a numbered topic stated as a sentence (健康素养's 66
# items), unlike a short numbered subheading (1.抗流感病毒治疗原则).
_TOPIC_ITEM = re.compile(r"^\s*\d{1,3}\s*[.．]\s*(?=\S*[，、；。,])(.{10,})$")


def topic_heading(p: Passage) -> str:
    """The numbered topic sentence a passage explains (a document of many everyday topics: 健康素养), or ''."""
    paths = _paths(p)
    if not paths:
        return ""
    for level in paths[0].split(_SEP)[1:]:
        m = _TOPIC_ITEM.match(level.strip())
        if m:
            return m.group(1)
    return ""


def document_identity(p: Passage) -> str:
    """The document a passage speaks for: its law/title, and for a multi-part document the part as well."""
    part, _ = part_of(p)
    return f"{p.law}{_SEP}{part}" if part else p.law


def _names(part: str) -> list[str]:
    """The names a part goes by: 「嗜铬细胞瘤/副神经节瘤」 → both; 「地中海贫血(重型)」 → 地中海贫血, 重型 dropped."""
    base = _GUIDE_SUFFIX.sub("", part)
    out: list[str] = []
    for alt in re.split(r"[/／]", base):
        inner = re.findall(r"[（(]([^）)]+)[）)]", alt)
        bare = re.sub(r"[（(][^）)]*[）)]", "", alt)
        for name in [bare, *(i for i in inner if re.search(r"[A-Za-z]{2,}", i))]:
            name = re.sub(r"\s+", "", name)
            if name:
                out.append(name)
    return out


def question_names(question: str, name: str) -> bool:
    """True when the question names `name`: whole, or at least half of its character bigrams (巨细胞动脉炎
    ← 巨细胞性动脉炎); Latin names (ANCA, Rett) case-insensitively."""
    q = re.sub(r"\s+", "", question).lower()
    n = name.lower()
    if n in q:
        return True
    grams = {n[i : i + 2] for i in range(len(n) - 1)}
    if not grams:
        return False
    return sum(g in q for g in grams) / len(grams) >= 0.5


def abbreviates(word: str, title: str) -> bool:
    """True when a Chinese word is the title's subject or its short form: its characters appear in the title in
    order, close together (流感 ← 流行性感冒, 新冠 ← 新型冠状病毒感染, 支原体肺炎 ← 儿童肺炎支原体肺炎)."""
    name = re.sub(r"[（(][^）)]*[）)]", "", title)
    if len(word) < 2 or not re.fullmatch(r"[\u4e00-\u9fff]+", word):
        return False
    if word in name:
        return True
    for start in (i for i, ch in enumerate(name) if ch == word[0]):
        pos, ok = start, True
        for ch in word[1:]:
            nxt = name.find(ch, pos + 1)
            if nxt < 0 or nxt - pos > 3:
                ok = False
                break
            pos = nxt
        if ok:
            return True
    return False


def fits_subject(question: str, p: Passage) -> bool:
    """Whether a passage can speak to the question at all, by what it is about (see the module docstring).

    `question` should be the domain-expanded question (synonyms appended), so 狗 reaches 犬."""
    part, numbered = part_of(p)
    if numbered and not any(question_names(question, name) for name in _names(part)):
        return False
    paths = _paths(p)
    differential = bool(paths) and all(_DIFFERENTIAL in path for path in paths)
    return not (differential and not _ASKS_DISTINCTION.search(question))


def differential_statement(section: str, question: str) -> bool:
    """True for a statement under a 鉴别诊断 heading when the question does not ask to tell diseases apart."""
    return _DIFFERENTIAL in section and not _ASKS_DISTINCTION.search(question)
