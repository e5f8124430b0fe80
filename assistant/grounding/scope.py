"""Is a question about something the domain governs at all? Its legal core, apart from its story.

Real questions tell a story: 「每天从早上九点干到晚上十点，老板说计件没有加班费」. The relevance gate weighs
every word by its rarity in the corpus, and the story's words (早上, 九点, 计件, 物流) are the rarest of all,
so a passage that covers the whole legal question (加班费, 用人单位) would still look like no answer. Yet a
question about another jurisdiction or another field (新加坡公司的年假, 电动车哪款续航最长) must stay
unanswered however much of it is covered.

The separate signal: the question's *core* is the words the domain's own vocabulary knows (synonym keys and
their statute wording, category and routing keywords: 加班费, 老板, 押金, 房东, 借条, 退货). A question with at
least `MIN_CORE` core words, all covered by a passage, is in scope; its remaining words are narrative and
need not be covered — except names (places, people, organisations, Latin words: 新加坡, 加州, Excel), which
say *where* or *what* and are always owed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from assistant.domains import DomainSpec
from knowledge.textproc import words_tagged

# A question must name at least this many things the vocabulary knows to be in scope (one alone — 电动车 in
# 「哪款电动车续航最长」 — is a topic word, not a legal question).
MIN_CORE = 2
# jieba's tags of proper names: places, people, organisations, other proper nouns.
_NAME_TAGS = frozenset({"ns", "nr", "nrt", "nrfg", "nt", "nz"})
# Corpus IDF (relevance.corpus_weights, capped at 9) from which a word is too rare in statutes to be owed:
# about 1 in 400 articles or fewer use it.
STORY_WEIGHT = 6.0
_LATIN = re.compile(r"[A-Za-z]")


def _vocabulary_of(spec: DomainSpec) -> frozenset[str]:
    words: set[str] = set(spec.routing_keywords)
    for key, statute in spec.all_synonyms().items():
        words.add(key)
        words.update(statute)
    for category in spec.categories:
        words.update(category.keywords)
    return frozenset(w for w in words if w)


def vocabulary(spec: DomainSpec) -> frozenset[str]:
    """The words the domain's YAML knows: synonym keys and statute wording, category and routing keywords."""
    return _vocabulary_of(spec)


def core_words(words: Iterable[str], spec: DomainSpec) -> list[str]:
    """The question words the domain vocabulary knows (its legal core)."""
    vocab = vocabulary(spec)
    return [w for w in words if w in vocab]


def is_name(word: str) -> bool:
    """A proper name (jieba tags ns/nr/nt/nz: 新加坡, 加州) or a Latin word (Excel, Python)."""
    return bool(_LATIN.search(word)) or word in words_tagged(_NAME_TAGS)


def narrative_words(words: Sequence[str], spec: DomainSpec, weights: Mapping[str, float]) -> list[str]:
    """The words a passage need not cover when the question's core is covered: rare in the corpus (weight
    ≥ `STORY_WEIGHT`: statutes do not tell stories — 商品, 售出 are statute words and stay owed), neither
    core nor a name. Empty when the question has fewer than `MIN_CORE` core words (nothing is forgiven)."""
    core = set(core_words(words, spec))
    if len(core) < MIN_CORE:
        return []
    return [w for w in words if w not in core and weights.get(w, 0.0) >= STORY_WEIGHT and not is_name(w)]
