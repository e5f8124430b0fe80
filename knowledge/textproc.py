"""Chinese tokenization shared by BM25 and the static embedder (jieba words, punctuation dropped).

Queries are cleaned before tokenizing: scenario questions ("小明是某公司的股东……根据哪条法律，……？") carry
person names and question templates that match nothing useful in a statute but weigh a lot in BM25
(a single character such as 明 or 王 is rare in statutes, hence a high IDF).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path

_lock = threading.Lock()
_ready = False
_KEEP_RE = re.compile(r"[\w\u4e00-\u9fff]")
_RUN_RE = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z0-9]+")
# Question words that say nothing about which article is meant; dropping them from queries helps BM25.
QUERY_STOPWORDS = frozenset(
    "的 了 是 在 和 与 或 及 吗 呢 吧 啊 么 什么 怎么 如何 哪些 哪个 哪条 哪 是否 可以 应该 应当 能否 能 会 "
    "根据 依据 按照 规定 法律 法规 条款 相关 内容 有关 我 我们 他 他们 她 她们 它 该 这 那 一 个 请问 问题 情况 "
    # scenario narration: determiners, pronouns, function words and template phrases
    "某 某个 某些 某家 某种 一名 一家 一位 一个 一起 一所 一天 一款 一张 一种 一次 一些 需要 哪一条 哪一 "
    "什么样 怎样 怎么办 怎么样 何种 哪种 做出 进行 想 其 被 将 对 向 给 从 中 时 后 把 就 并 但 但是 也 还 "
    "都 又 而 因为 因此 所以 于是 如果 这种 这个 那个 此 这样 那么 有 没有 已经 正在 即将 这些 "
    "法律法规 法律条款 法律文件 法律规定 有权 必须 采取 作为 为 以 于 之 等".split()
)
# Common surnames and given-name characters of the placeholder people in scenario questions.
_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶"
    "阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
_GIVEN = "明红丽芳华军强刚伟莉美玲娟敏静燕亮杰峰磊超勇涛斌鹏辉"
# 小明 / 老张 (not 小区, 小型, 老年人…), 张某 / 李某某, 王先生 / 李女士, 张三 / 李四, 李明 (before a clause break)
PERSON_RE = re.compile(
    rf"(?:[小老阿][{_SURNAMES}{_GIVEN}](?![{_SURNAMES}{_GIVEN}]?[区型学组额微年龄人家])"
    rf"|[{_SURNAMES}]某+"
    rf"|[{_SURNAMES}](?:先生|女士|小姐|大爷|大妈|阿姨|师傅)"
    rf"|[{_SURNAMES}][三四五六](?![条款项章节])"
    rf"|[{_SURNAMES}][{_GIVEN}](?=[，。、是在与和因的向被将]))"
)
# "根据哪条法律规定，" / "根据相关法律条款" / "根据法律，": the question template, never the topic
TEMPLATE_RE = re.compile(r"根据(?:哪一?[条个部项款]|什么|相关|有关)?(?:法律|法规|规定|条款|法条|文件)+[，,]?")


def _ensure_jieba():
    global _ready
    import jieba

    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _ready = True
    return jieba


def tokenize(text: str) -> list[str]:
    """jieba words of `text` without whitespace and punctuation (HMM off: faster, stable on legal text)."""
    jieba = _ensure_jieba()
    return [t for t in jieba.lcut(text, HMM=False) if _KEEP_RE.search(t)]


def _word_spans(text: str) -> list[tuple[str, int, int]]:
    jieba = _ensure_jieba()
    return list(jieba.tokenize(text, HMM=False))


_tables: dict[str, frozenset[str]] = {}


def _noun_table() -> frozenset[str]:
    import jieba.posseg  # parses the whole tag table (~1 s): done once per jieba dictionary, then cached

    tags = jieba.posseg.dt.word_tag_tab
    return frozenset(w for w, tag in tags.items() if tag.startswith("n") or tag == "j")


def _verb_table() -> frozenset[str]:
    import jieba.posseg

    return frozenset(w for w, tag in jieba.posseg.dt.word_tag_tab.items() if tag == "v")


def _tagged(name: str, build: Callable[[], frozenset[str]]) -> frozenset[str]:
    table = _tables.get(name)
    if table is None:
        from knowledge.startup_cache import cached_table

        jieba = _ensure_jieba()
        dictionary = Path(jieba.dt.dictionary or Path(jieba.__file__).with_name("dict.txt"))
        stat = dictionary.stat()
        key = f"{dictionary}:{stat.st_size}:{stat.st_mtime_ns}"
        table = _tables[name] = frozenset(cached_table(f"jieba-{name}", key, build))
    return table


def words_tagged(tags: frozenset[str]) -> frozenset[str]:
    """The words jieba's dictionary tags with one of `tags` (ns, nr…; t, m, d…), cached like the noun table."""

    def build() -> frozenset[str]:
        import jieba.posseg

        return frozenset(w for w, tag in jieba.posseg.dt.word_tag_tab.items() if tag in tags)

    return _tagged("tags-" + "-".join(sorted(tags)), build)


def _is_noun(word: str) -> bool:
    """Whether jieba's dictionary tags `word` as a noun (n, nr, ns, nt, nz, or an abbreviation j)."""
    return word in _tagged("nouns", _noun_table)


def is_verb(word: str) -> bool:
    """Whether jieba's dictionary tags `word` as a verb (v): 买, 买来, 扔掉 — not 迟到's 迟 nor 未来."""
    return word in _tagged("verbs", _verb_table)


def find_whole_words(text: str, words: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """The entries of `words` that occur in `text` as words, not as a part of a longer noun.

    Segmentation is jieba's: 公司 is found in 公司不续签 but not inside the noun 保险公司 (an insurer is not
    an employer), while 工资 is found inside 拖欠工资 (a verb phrase, not a different thing)."""
    spans: list[tuple[str, int, int]] | None = None
    found: list[str] = []
    for word in words:
        start = text.find(word) if word else -1
        while start >= 0:
            if spans is None:
                spans = _word_spans(text)
            end = start + len(word)
            # the words the occurrence cuts into (it covers them only in part)
            cut = [w for w, s, e in spans if s < end and e > start and not (start <= s and e <= end)]
            if not any(_is_noun(w) for w in cut):
                found.append(word)
                break
            start = text.find(word, start + 1)
    return found


def clean_query(text: str) -> str:
    """The question without placeholder person names (小明, 张某, 王先生) and question templates."""
    text = PERSON_RE.sub("，", text)
    return TEMPLATE_RE.sub("，", text)


_SENTENCE_RE = re.compile(r"(?<=[。！？；!?;])")


def tokenize_query(text: str, *, fallback: bool = True) -> list[str]:
    """Tokens of a cleaned question, without the words in QUERY_STOPWORDS (with `fallback`, all tokens
    are kept when nothing else remains)."""
    toks = tokenize(clean_query(text))
    kept = [t for t in toks if t not in QUERY_STOPWORDS]
    if not fallback:
        return kept
    return kept or toks or tokenize(text)


def question_sentence(text: str) -> str:
    """The last sentence of a multi-sentence question ('' for a one-sentence question).

    Scenario questions tell a story, then ask ("……。根据哪条法律，药品监督管理部门应如何处理？"): the asking
    sentence usually paraphrases the article sought, so retrieval counts its words again."""
    sentences = [s for s in _SENTENCE_RE.split(text.strip()) if s.strip()]
    return sentences[-1] if len(sentences) > 1 else ""


def query_terms(text: str, question_repeat: int = 0) -> tuple[list[str], list[str]]:
    """(jieba words, character bigrams) of a question for BM25; the asking sentence's terms are
    repeated `question_repeat` more times (see question_sentence)."""
    words, grams = tokenize_query(text), query_bigrams(text)
    focus = question_sentence(text) if question_repeat > 0 else ""
    if focus:
        words += tokenize_query(focus, fallback=False) * question_repeat
        grams += query_bigrams(focus) * question_repeat
    return words, grams


def char_bigrams(text: str) -> list[str]:
    """Overlapping character bigrams of each Han run (a lone character stays a unigram; Latin/digit runs
    are whole tokens). Complements jieba words: it matches across segmentation differences and across
    word boundaries (the words 赡养费 and 赡养 never match; their bigrams share 赡养)."""
    out: list[str] = []
    for run in _RUN_RE.findall(text):
        if len(run) == 1 or not ("\u4e00" <= run[0] <= "\u9fff"):
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def query_bigrams(text: str) -> list[str]:
    """Character bigrams of the cleaned question (names and templates removed)."""
    return char_bigrams(clean_query(text))
