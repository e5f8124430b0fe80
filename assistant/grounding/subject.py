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
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from assistant.domains import CategorySpec, DomainSpec
from assistant.grounding.relevance import ABSENT_WORD_WEIGHT
from assistant.grounding.scope import vocabulary
from knowledge.textproc import words_tagged
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


# What an embedded guide's name says of the injury after its subject: 蛇咬伤 → 蛇, 猫抓咬伤 → 猫, 海蜇蜇伤 → 海蜇.
_INJURY = re.compile(r"(?:抓咬伤|咬伤|蜇伤|刺伤|啄伤|抓伤|致伤)$")


def guide_subject(name: str) -> str:
    """What an embedded guide of a collection is about: its name without the injury (蛇咬伤 → 蛇; 狂犬病 stays).
    Its passages answer only a question naming it: 蛇咬伤诊疗规范's 「评估生命体征」 is no answer to 「头晕需要查
    什么」, nor 海蜇蜇伤诊疗规范's analgesics to 「布洛芬和对乙酰氨基酚可以一起吃吗」."""
    return _INJURY.sub("", name) or name


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


# A section written for one group of patients (血液净化标准操作规程's 「血液透析患者高血压的治疗」): it answers
# only a question about that group. group heading word -> words a question names the group by.
_PATIENT_GROUPS: dict[str, tuple[str, ...]] = {
    "透析": ("透析", "血透", "腹透", "血液净化", "尿毒症", "肾衰"),
}
_GROUP_HEADING = re.compile(r"(" + "|".join(_PATIENT_GROUPS) + r")[^ >]{0,4}患者")


def for_other_patients(question: str, p: Passage) -> bool:
    """True when the passage's headings say it is about a group of patients (透析患者) the question does
    not name: 「透析患者脑卒中的诊治」 is no answer to 「怎样识别中风」."""
    for path in _paths(p):
        m = _GROUP_HEADING.search(path)
        if m and not any(w in question for w in _PATIENT_GROUPS[m.group(1)]):
            return True
    # A guideline whose title names the group's treatment (血液净化标准操作规程) is written for that group
    # throughout: its 「既往存在…痔疮等潜在出血风险的疾病」 is about dialysis patients, not about 痔疮.
    return bool(getattr(p, "is_guideline", False)) and any(
        any(w in p.law for w in words) and not any(w in question for w in words)
        for words in _PATIENT_GROUPS.values()
    )


# What a single-disease guideline's title says around its disease: the edition (（2025年版）), the patient group
# (儿童肺炎支原体肺炎, 非新生儿破伤风, 不明原因儿童严重急性肝炎) and, for a notice adding drugs to a guideline, the
# part before 纳入.
_EDITION = re.compile(r"[（(][^）)]*[）)]")
_SUBJECT_SUFFIX = re.compile(r"(?:诊疗规范|诊疗指南|诊疗方案|防治指南|医疗救治规范)$")
_POPULATION = re.compile(r"^(?:不明原因)?(?:非新生儿|新生儿|儿童|成人)")


def without_edition(title: str) -> str:
    """A document's title without its edition: 流行性感冒诊疗方案（2025年版） → 流行性感冒诊疗方案."""
    return _EDITION.sub("", title).strip()


def guideline_subjects(title: str) -> list[str]:
    """The diseases a single-disease guideline is about, from its title: 流行性感冒诊疗方案（2025年版） →
    [流行性感冒], 近视防治指南、斜视和弱视诊疗指南 → [近视, 斜视, 弱视], 鼠疫等传染病诊疗方案 → [鼠疫, 传染病].
    [] for a document that is not about one disease: 健康素养, 血液净化标准操作规程, a collection of guides
    (常见动物致伤诊疗规范) or a compendium (…等86个罕见病…, whose parts `part_of` handles)."""
    name = _EDITION.sub("", title).strip()
    if _COMPENDIUM.search(name) or name.startswith("常见") or not _SUBJECT_SUFFIX.search(name):
        return []
    name = name.split("纳入")[-1]
    out: list[str] = []
    for piece in re.split(r"[、/／和等]", name):
        piece = _POPULATION.sub("", _SUBJECT_SUFFIX.sub("", piece.strip()))
        if len(piece) >= 2:
            out.append(piece)
    return out


@lru_cache(maxsize=256)
def question_words(question: str) -> tuple[str, ...]:
    """The question's words and the parts of its compounds (流感疫苗 → 流感疫苗, 流感, 疫苗)."""
    from knowledge.textproc import _ensure_jieba

    return tuple(
        w for w in dict.fromkeys(_ensure_jieba().lcut_for_search(question, HMM=False)) if len(w) >= 2
    )


def names_disease(question: str, p: Passage, spec: DomainSpec | None = None) -> bool:
    """Whether the question is about the disease of the single-disease guideline `p` belongs to (always True
    for other passages): it names the disease or its short form (流感 ← 流行性感冒, 新冠 ← 新型冠状病毒感染),
    or it names a topic of the domain's category that lists the guideline (`spec.categories`: 中风 and
    脑血管病防治指南 are both 慢病管理). The flu guideline's 「落实门急诊预检分诊制度，做好患者分流」 shares
    急诊/转院/医院 with a question on an emergency department turning a patient away, but it is about flu."""
    if not getattr(p, "is_guideline", False):
        return True
    subjects = guideline_subjects(p.law)
    if not subjects:
        return True
    words = question_words(question)
    if any(question_names(question, s) or any(abbreviates(w, s) for w in words) for s in subjects):
        return True
    return spec is not None and any(
        not cat.population and _lists(cat, p) and _names_topic(question, cat, specific=True)
        for cat in spec.categories
    )


def _lists(cat: CategorySpec, p: Passage) -> bool:
    """Whether the category lists the passage's document (by the start of its title)."""
    return any(p.law.startswith(listed) for listed in cat.laws if listed)


def _names_topic(question: str, cat: CategorySpec, specific: bool = False) -> bool:
    """Whether the question names one of the category's keywords (as a word, or a longer keyword inside);
    `specific`: not counting its `broad_keywords` (传染, 病毒: they name no disease)."""
    from assistant.grounding.category import question_keywords

    broad = set(cat.broad_keywords) if specific else set()
    keywords = [k for k in cat.keywords if k not in broad]
    return bool(question_keywords(question, keywords)) or any(len(k) > 1 and k in question for k in keywords)


def names_field(question: str, p: Passage, spec: DomainSpec | None) -> bool:
    """Whether the question is about the field of a statute written for one field (a `scoped` category
    lists it: 传染病防治法, 精神卫生法); always True for other passages. 精神卫生法第三十七条 (a mental patient's
    rights) shares 患者/病历/告知 with 「医生给病人开药必须亲自看过病人吗」 and is about something else."""
    if spec is None or p.article_no is None or getattr(p, "is_guideline", False):
        return True
    fields = [c for c in spec.categories if c.scoped and _lists(c, p)]
    return not fields or any(_names_topic(question, c) for c in fields)


def fits_subject(question: str, p: Passage, spec: DomainSpec | None = None) -> bool:
    """Whether a passage can speak to the question at all, by what it is about (see the module docstring).

    `question` should be the domain-expanded question (synonyms appended), so 狗 reaches 犬; `spec` (the
    domain) lets a disease guideline answer a question on a topic of its category (`names_disease`)."""
    part, numbered = part_of(p)
    if numbered and not any(question_names(question, name) for name in _names(part)):
        return False
    if part and not numbered and not any(question_names(question, guide_subject(n)) for n in _names(part)):
        return False
    if not names_disease(question, p, spec) or not names_field(question, p, spec):
        return False
    if for_other_patients(question, p):
        return False
    paths = _paths(p)
    differential = bool(paths) and all(_DIFFERENTIAL in path for path in paths)
    return not (differential and not _ASKS_DISTINCTION.search(question))


def differential_statement(section: str, question: str) -> bool:
    """True for a statement under a 鉴别诊断 heading when the question does not ask to tell diseases apart."""
    return _DIFFERENTIAL in section and not _ASKS_DISTINCTION.search(question)


# ---------------------------------------------------------------------- who and when vs what
# jieba part-of-speech tags of words that tell who asks and when, never what a patient question is about:
# time words (去年, 早上), quantities (十几年, 好几个), place words (家里), pronouns (在家), adverbs (有点儿,
# 越来越, 轻轻), localisers (最近), conjunctions, prepositions, particles, interjections. (Classifiers stay:
# 口, 针, 度 name things in a medical question.)
_NARRATIVE_TAGS = frozenset("t tg m mq s f r rr rz d dg df c p u uj ul uz ug uv ud y e o".split())
# Everyday verbs, adjectives and state words (晕, 摔, 够, 脆, 生锈, 查出, 火辣辣): a patient's way of telling, rarely
# the subject.
_TELLING_TAGS = frozenset("v vd vi vg a ad ag z".split())
# A count or an age the dictionary does not list (58岁, 5个月, 一个多星期, 200度); multiples (三倍) are kept.
_QUANTITY = re.compile(
    r"^(?:[0-9０-９.零〇一二两三四五六七八九十百千万几半]+|好几)[个]?[多]?[年月日天周号点时分秒个块元岁次回趟家位名度斤克星期]*[半多]?$"
)


# A phrase jieba's dictionary keeps as one word: a verb with an aspect particle (咬了一口), a reduplicated verb
# (动一动), a verb with a directional complement (救上来, 送过去), a noun with a localiser (草丛里, 马路上). It
# tells how or where something happened; what the question is about is another word.
_PHRASE = re.compile(
    r"^.+[了着过].+$|^(.)一\1$|^.+(?:上来|下来|出来|起来|过来|回来|上去|下去|出去|过去)$|^.{2,}[里上边]$"
)


def is_phrase(word: str) -> bool:
    """Whether `word` is a patient's phrase jieba keeps whole (咬了一口, 动一动, 救上来, 草丛里), not a name."""
    return len(word) > 2 and bool(_PHRASE.match(word))


def is_narrative(word: str, extra: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether `word` only says who asks or when (爸, 去年, 十几年, 有点, 家里): `extra` (the domain's
    `retrieval.narrative_words`, e.g. kinship words jieba tags as nouns), a quantity, or a narrative tag."""
    if word in extra:
        return True
    if word.endswith("倍"):  # 三倍, 两倍: guidelines and statutes state multiples
        return False
    return bool(_QUANTITY.match(word)) or word in words_tagged(_NARRATIVE_TAGS)


def is_telling(word: str) -> bool:
    """Whether jieba's dictionary calls `word` a verb or an adjective (晕, 摔, 生锈), not a noun."""
    return word in words_tagged(_TELLING_TAGS)


def subject_weights(
    words: list[str],
    weights: Mapping[str, float],
    spec: DomainSpec,
    term_weights: Callable[[list[str]], dict[str, float]] | None = None,
) -> dict[str, float]:
    """The question words' weights for a domain that weighs a patient's story by what it is about
    (`retrieval.narrative_words` set; other domains: unchanged):
    - who and when (`is_narrative`) weigh nothing: never owed by a basis, never taken for its subject;
    - an everyday word no document uses that the vocabulary maps (发烧 → 发热, 孩子 → 儿童) weighs what its
      clinical wording weighs, not the absent-word maximum;
    - an everyday verb or adjective no document uses (晕, 摔, 生锈, 查出), or a phrase jieba keeps whole
      (`is_phrase`: 咬了一口, 草丛里), weighs half the maximum: it still counts, but the disease or body word
      (支原体, 骨质疏松) is what the question is about. Absent NOUNS keep
      the maximum (痛风, 灰指甲: a subject the knowledge base lacks is a reason for 〔无依据〕)."""
    out = dict(weights)
    extra = frozenset(spec.retrieval.narrative_words)
    if not extra:
        return out
    # A word the domain itself names (its vocabulary) is never only who or when: jieba tags 中暑 a time word (暑,
    # summer), and 「怎样预防中暑」 weighed by 预防 alone was answered from 残疾预防和残疾人康复条例.
    named = vocabulary(spec)
    for w in words:
        absent = out.get(w, 0.0) >= ABSENT_WORD_WEIGHT  # no document uses it (the IDF cap)
        if is_narrative(w, extra) and w not in named:
            out[w] = 0.0
        elif absent and term_weights is not None and w in spec.synonyms:
            out[w] = min(out[w], _wording_weight(spec.synonyms[w], term_weights))
        elif absent and (is_telling(w) or is_phrase(w)):
            out[w] = out[w] / 2
        if len(w) == 1 and is_telling(w) and out.get(w, 0.0) > ABSENT_WORD_WEIGHT / 2:
            # a one-character verb or adjective (老 of 老是, 晕, 破) is a fragment of how the patient tells it, not
            # a subject: it never outweighs the question's disease word (高血压). One-character nouns (盐, 诺 of
            # 诺如) keep their weight.
            out[w] = ABSENT_WORD_WEIGHT / 2
    return out


def _wording_weight(wordings: list[str], term_weights: Callable[[list[str]], dict[str, float]]) -> float:
    """What the clinical wording of an everyday word weighs: the most common of its alternatives, each
    weighing its rarest jieba word (口角歪斜 → 歪斜)."""
    from knowledge.textproc import tokenize

    best = float("inf")
    for wording in wordings:
        toks = tokenize(wording) or [wording]
        best = min(best, max(term_weights(toks).values(), default=float("inf")))
    return best


def with_compound_parts(query: str) -> str:
    """The query followed by the parts of its compound words (jieba's search mode: 流感疫苗 → 流感 疫苗,
    喂母乳 → 母乳, 甲胎蛋白 → 蛋白) that it does not already contain as words: a guideline writes 接种流感疫苗
    or 血清甲胎蛋白, so the patient's whole word is not a word of its index."""
    from knowledge.textproc import _ensure_jieba

    jieba = _ensure_jieba()
    whole = jieba.lcut(query, HMM=False)
    parts = [w for w in jieba.lcut_for_search(query, HMM=False) if len(w) > 1 and w not in whole]
    extra = list(dict.fromkeys(parts))
    return f"{query} {' '.join(extra)}" if extra else query


# `retrieval.prefer_titled`: among the passages that pass the gate, one from a document whose title names what
# the question asks about comes first, by this much: 狂犬病暴露预防处置工作规范 before 健康素养's retelling of it
# for 「狂犬病疫苗一共要打几针」 (both cover the question alike; the norm is the primary source).
TITLE_WEIGHT = 0.2


def titled_documents(question: str, passages: Sequence[Passage], spec: DomainSpec) -> set[str]:
    """The guidelines among `passages` whose title names a word of the question or one of its compound's
    parts (狂犬 of 狂犬疫苗), who-and-when words aside (`is_narrative`). Statutes are left out: their
    titles name whole fields (药品, 医疗机构) that every question of the field shares."""
    extra = frozenset(spec.retrieval.narrative_words)
    words = [w for w in question_words(spec.expand(question)) if not is_narrative(w, extra)]
    out: set[str] = set()
    for p in passages:
        title = without_edition(p.law)
        if getattr(p, "is_guideline", False) and any(w in title for w in words):
            out.add(p.law)
    return out
