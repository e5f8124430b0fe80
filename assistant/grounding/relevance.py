"""Does a retrieved passage really address the question? Weighted topical coverage, corpus IDF weights.

Sharing words is not enough: 「得了流感多久内用抗病毒药」 shares 抗病毒 with an AIDS regulation and 「一个月内」
with half the labour code. A question's words are weighed by how rare they are in the whole knowledge
base (inverse document frequency of character bigrams, read from the KB's bigram index), so a passage
must cover the question's *distinctive* words (流感, 加州, 红烧) to count; words no document contains
weigh the most, which is what makes 「美国加州的最低工资」 a question without basis here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from assistant.grounding.overlap import content_grams, passage_grams
from knowledge.types import Passage

TermWeights = Callable[[Iterable[str]], dict[str, float]]
"""Maps question words to weights (higher = more distinctive)."""

# Everyday question words that carry no topic but are rare in statutes (so their IDF would be high).
QUESTION_WORDS = frozenset(
    "咋办 咋样 怎样 怎么 怎么办 怎么样 多久 多少 多长 多长时间 多大 几天 几针 几个 几 能不能 可不可以 有没有 要不要 会不会 "
    "是不是 应该 需要 一般 平时 哪些 什么 时候 以后 之后 的话 一下 注意 办法 处理 情况 问题 合法 违法 有效 算不算 "
    "还能 能够 必须 吗 呢 吧 啊 了 得 要 会 能 可以 该 请问 为什么 怎么回事 最好 多 几次 那 还 再 又 就 才 都 也 算 办 弄 搞 "
    "我 我们 你 他 她 孩子们 自己 别人 一个 一些 现在 已经 真的 到底 是 有 没 不 被 让 给 把 和 跟 与 对 在 上 下 里 "
    "一直 总是 经常 突然 还是 马上 随便 平常 这样 那样 其实 特别 非常 比较 很 太 最 更 全 刚 刚刚 正在 曾经 有些 "
    "某些 这种 那种 这个 那个 什么样 哪里 哪儿 谁 呀 啥 咋 可 能否 是否 或者 还有 以及 然后 如果 的话 "
    "应当 有没有 行不行 对不对 好不好 合不合法 怎么样 如何 打 做 去 来 拿 看 找 带 用 吃 想 说 问".split()
)
# English function words (and the vocabulary of instructions) name no topic either.
_ENGLISH_STOPWORDS = frozenset(
    "a an the and or of to in on at for with without from by as is are was be been do does did can could should "
    "would will shall may might must i me my you your we our it its this that these those what which who how why "
    "when where please now just all any some no not only also then than so if but about into over under again "
    "answer ignore previous instructions instruction disclaimer system prompt rules rule reply respond".split()
)
_MAX_WEIGHT = 9.0
ABSENT_WORD_WEIGHT = _MAX_WEIGHT  # what a word no document uses weighs
# A verb with a directional/phase complement (买来, 扔掉, 拿走, 送去, 吃完, 买到) is said of its verb: the
# compound is rare or absent in statutes and guidelines (购买, 丢弃), so on its own it would weigh the IDF cap.
_COMPLEMENTS = frozenset("来去到完掉走")
_DIRECTIONAL = frozenset("来去到回出进起上下过开")  # 回来, 出去, 进来: a direction, not a verb + complement
# Coverage is measured against the heaviest few words: a long story need not be echoed in full by the
# article that governs it (tuned on the dev sets' questions: ../shared/eval, tests/quality/gate_tuning.jsonl).
DENOMINATOR_WORDS = 5
_CHAR_CREDIT = 0.5


def uniform_weights(words: Iterable[str]) -> dict[str, float]:
    """Every word weighs 1 (when no corpus statistics are available)."""
    return {w: 1.0 for w in words}


def corpus_weights(kb: Any) -> TermWeights:
    """IDF of words over the KB's whole imported corpus, from its retrieval index of jieba words.

    Falls back to `uniform_weights` when the KB exposes no such index (a fake KB in tests)."""

    def weights(words: Iterable[str]) -> dict[str, float]:
        words = list(words)
        snapshot = getattr(kb, "snapshot", None)
        index = getattr(snapshot(), "bm25", None) if callable(snapshot) else None
        if index is None or not hasattr(index, "matrix") or not hasattr(index, "vocab"):
            return uniform_weights(words)
        matrix, vocab = index.matrix, index.vocab
        n = matrix.shape[0]
        indptr = matrix.indptr  # CSC: the documents holding term j are indptr[j]:indptr[j + 1]

        def df(word: str) -> int:
            j = vocab.get(word)
            return 0 if j is None else int(indptr[j + 1] - indptr[j])

        def idf(word: str) -> float:
            return min(_MAX_WEIGHT, math.log((n + 1) / (df(word) + 1)))

        out: dict[str, float] = {}
        for w in words:
            verb = complement_verb(w)
            if verb and df(w) == 0 and df(verb) > 0:
                # A compound no document uses (买来) weighs what its verb (买) weighs, not the most, and the
                # verb's entry tells `relevance` that the verb covers it (see `_coverage`).
                out[w] = out[verb] = idf(verb)
            else:
                out[w] = idf(w)
        return out

    return weights


class Relevance(BaseModel):
    """How well one passage covers a question."""

    score: float = Field(description="Weighted share of the question's topic words the passage covers, 0..1")
    missing: list[str] = Field(default_factory=list, description="Distinctive words it lacks, heaviest first")


def complement_verb(word: str) -> str:
    """The verb of a verb + directional/phase complement compound (买来 → 买, 扔掉 → 扔), else ''.

    jieba keeps such compounds whole, yet the knowledge base says 购买 / 丢弃, not 买来 / 扔掉."""
    if len(word) != 2 or word[1] not in _COMPLEMENTS or word[0] in _DIRECTIONAL:
        return ""
    from knowledge.textproc import is_verb

    return word[0] if is_verb(word) and is_verb(word[0]) else ""


def topic_words(question: str) -> list[str]:
    """The question's topic-bearing words (jieba; names, templates and question words such as 怎么办 left out)."""
    from knowledge.textproc import tokenize_query

    out: list[str] = []
    for w in tokenize_query(question, fallback=False):
        if w in QUESTION_WORDS or w.lower() in _ENGLISH_STOPWORDS or w in out:
            continue
        if not re.search(r"[\u4e00-\u9fffA-Za-z]", w):
            continue
        out.append(w)
    return out


def _coverage(
    word: str,
    weights: Mapping[str, float],
    text: str,
    grams: set[str],
    question: str,
    synonyms: Mapping[str, list[str]] | None,
) -> float:
    """`_covered`, where a verb + complement compound no document uses is also covered by its verb (买来 by
    购买): `corpus_weights` marks such a compound by giving its verb an entry of the same weight. A compound
    the corpus uses (受到, 收到) is only covered by itself."""
    cov = _covered(word, text, grams, question, synonyms)
    verb = complement_verb(word) if cov < 1.0 else ""
    if verb and verb in weights and weights[verb] == weights.get(word):
        cov = max(cov, _covered(verb, text, grams, question, synonyms))
    return cov


def _word_coverage(word: str, text: str, grams: set[str]) -> float:
    if word in text:
        return 1.0
    if len(word) <= 2:
        return 0.0
    pieces = [word[i : i + 2] for i in range(len(word) - 1)]
    share = sum(p in grams for p in pieces) / len(pieces)
    return share if share >= 0.5 else 0.0  # one shared bigram of 聊天记录 (记录) is no evidence


def weighted_coverage(
    words: Sequence[str],
    weights: Mapping[str, float],
    text: str,
    question: str = "",
    synonyms: Mapping[str, list[str]] | None = None,
) -> float:
    """Weighted share of `words` that `text` covers (0..1); see `relevance`."""
    grams = content_grams(text)
    pairs = [(weights.get(w, 1.0), _coverage(w, weights, text, grams, question, synonyms)) for w in words]
    return _share(pairs)


def _share(pairs: list[tuple[float, float]], owed: Sequence[bool] | None = None) -> float:
    """Σ weight × coverage over the total weight of the `DENOMINATOR_WORDS` heaviest words (above 1 when a
    passage covers more than those: it still ranks above one covering fewer). With `owed`, only the owed
    words make the denominator: the others count when covered, and are never missed."""
    weights = [w for i, (w, _) in enumerate(pairs) if owed is None or owed[i]]
    denominator = sum(sorted(weights, reverse=True)[:DENOMINATOR_WORDS])
    return sum(w * c for w, c in pairs) / denominator if denominator else 0.0


def _says(phrase: str, text: str) -> bool:
    """The statute wording is in the text, whole or word by word (解除劳动合同 in 解除或者终止劳动合同)."""
    if phrase in text:
        return True
    from knowledge.textproc import tokenize

    words = tokenize(phrase)
    return len(words) > 1 and all(w in text for w in words)


def _covered(
    word: str, text: str, grams: set[str], question: str, synonyms: Mapping[str, list[str]] | None
) -> float:
    cov = _word_coverage(word, text, grams)
    if cov < 1.0:
        for key, statute in (synonyms or {}).items():
            if (word in key or key in word) and key in question and any(_says(s, text) for s in statute):
                return 1.0
    if cov < _CHAR_CREDIT and len(word) > 1:
        # Everyday words statutes do not use (房子, 开车, 假货) share characters with their statute
        # wording (房屋, 驾驶, 假冒): half credit when most of their characters are there.
        share = sum(ch in text for ch in word) / len(word)
        if share >= 0.5:
            cov = max(cov, _CHAR_CREDIT * share)
    return cov


def relevance(
    question: str,
    passage: Passage,
    weights: Mapping[str, float],
    synonyms: Mapping[str, list[str]] | None = None,
    words: list[str] | None = None,
    forgiven: Collection[str] = (),
) -> Relevance:
    """Weighted coverage of `question` by `passage`; an everyday word counts as covered when the passage
    has its statute wording (`synonyms`: 工资 → 劳动报酬). `forgiven` words (a story's details, see
    `assistant.grounding.scope`) count when the passage has them but are not owed."""
    words = topic_words(question) if words is None else words
    if not words:
        return Relevance(score=0.0)
    text = f"{passage.law} {passage.chapter} {getattr(passage, 'section', '')} {passage.text}"
    grams = passage_grams(passage) | content_grams(text)
    pairs: list[tuple[float, float]] = []
    gaps: list[tuple[float, str]] = []
    for w in words:
        weight = weights.get(w, 1.0)
        cov = _coverage(w, weights, text, grams, question, synonyms)
        pairs.append((weight, cov))
        if cov < 0.5 and w not in forgiven:
            gaps.append((weight, w))
    missing = [w for _, w in sorted(gaps, key=lambda t: -t[0])]
    owed = [w not in forgiven for w in words] if forgiven else None
    return Relevance(score=round(_share(pairs, owed), 4), missing=missing)
