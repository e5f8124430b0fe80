"""Chinese tokenization shared by BM25 and the static embedder (jieba words, punctuation dropped)."""

from __future__ import annotations

import logging
import re
import threading

_lock = threading.Lock()
_ready = False
_KEEP_RE = re.compile(r"[\w\u4e00-\u9fff]")
# Question words that say nothing about which article is meant; dropping them from queries helps BM25.
QUERY_STOPWORDS = frozenset(
    "的 了 是 在 和 与 或 及 吗 呢 吧 啊 什么 怎么 如何 哪些 哪个 哪条 哪 是否 可以 应该 应当 能否 能 会 "
    "根据 依据 按照 规定 法律 法规 条款 相关 内容 有关 我 我们 他 他们 她 该 这 那 一 个 请问 问题 情况".split()
)


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


def tokenize_query(text: str) -> list[str]:
    """Tokens of a question, without the question words in QUERY_STOPWORDS (kept if nothing else remains)."""
    toks = tokenize(text)
    kept = [t for t in toks if t not in QUERY_STOPWORDS]
    return kept or toks
