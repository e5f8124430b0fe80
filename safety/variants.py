"""Decoded variants of a question, so the refusal checks see through cheap disguises (issue 14 item 7).

- base64 (and %-encoding): a token that decodes to readable text is replaced by what it says;
- pinyin: runs of Latin letters that read as pinyin syllables (``zenme zhizao zhadan``, ``zhadan``) are
  written back in characters, word by word, from a pinyin → word map of common words (jieba's dictionary,
  the classifier's vocabulary and the policy's dangerous terms);
- homophones and letter insertions: a span whose pronunciation is that of a dangerous term but whose
  characters are not (炸单, 炸d单, 渣弹, zha弹) is replaced by the term — unless the span is part of an
  ordinary word in the question (强制执行 is not 枪支, 包扎单独 is not 炸弹).

The variants are only ever checked for refusal: a variant can make a question refused, never allowed, and
nothing downstream (retrieval, the generator, the audit) sees them. Pinyin data come from pypinyin; the
indexes are built on first use (well under a second) and cached per term list.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from safety.normalize import normalize

_HAN = re.compile(r"[\u4e00-\u9fff]")
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/_\-]{12,}={0,2}")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2}){3,}")
_LATIN_RUN = re.compile(r"[a-z]+(?:[ '\-]+[a-z]+)*")
_LOCK = threading.Lock()
# English words that are also pinyin syllables: a run made only of these is English, not pinyin.
_ENGLISH = frozenset(
    "a an are you me he she can long hang man men ran pan ban fan tan die lie tie pie pin bin gang bang hen ma "
    "ha ne de le wo ai ou e o en er ye yo ping pong lang tao dao yang ying wan wen shi sun ten".split()
)


def _strip_tone(syllable: str) -> str:
    """zhà → zha, lǜ → lv (pypinyin's toneless style)."""
    s = unicodedata.normalize("NFKD", syllable)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return s.replace("ü", "v").replace("u\u0308", "v").lower()


@lru_cache(maxsize=65536)
def _char_readings(ch: str) -> tuple[str, ...]:
    """A CJK character's toneless readings (heteronyms included) from pypinyin's character table."""
    from pypinyin.pinyin_dict import pinyin_dict

    value = pinyin_dict.get(ord(ch))
    return tuple(dict.fromkeys(_strip_tone(p) for p in value.split(","))) if value else ()


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (about 420), from the readings of all CJK characters."""
    from pypinyin.pinyin_dict import pinyin_dict

    return frozenset(
        _strip_tone(p)
        for code, value in pinyin_dict.items()
        if 0x4E00 <= code <= 0x9FFF
        for p in value.split(",")
    )


def _reading(word: str) -> str:
    """The usual toneless reading of a word, syllables joined (炸弹 → zhadan)."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(word))


def _split_syllables(run: str) -> list[str] | None:
    """A Latin run ("zhizao", "zenme zhizao") as pinyin syllables, or None when it is not pinyin."""
    syl = _syllables()
    out: list[str] = []
    for token in re.split(r"[ '\-]+", run):
        if not token:
            continue
        # fewest syllables covering the token (dynamic programming, syllables are at most 6 letters)
        best: list[list[str] | None] = [None] * (len(token) + 1)
        best[0] = []
        for i in range(1, len(token) + 1):
            for j in range(max(0, i - 6), i):
                prev, cur = best[j], best[i]
                if prev is not None and token[j:i] in syl and (cur is None or len(prev) + 1 < len(cur)):
                    best[i] = [*prev, token[j:i]]
        last = best[-1]
        if last is None:
            return None
        out.extend(last)
    return out


@dataclass(frozen=True)
class _WordMap:
    """pinyin (syllables joined) → the most frequent word read that way."""

    words: dict[str, str]
    longest: int


_MIN_WORD_FREQ = 1000  # ~7,200 common words of jieba's dictionary: built in about half a second


@lru_cache(maxsize=4)
def _word_map(extra: tuple[str, ...]) -> _WordMap:
    import jieba

    jieba.dt.check_initialized()
    freq = jieba.dt.FREQ
    candidates = [
        w
        for w, f in freq.items()
        if f >= _MIN_WORD_FREQ and 1 <= len(w) <= 4 and all(_HAN.match(c) for c in w)
    ]
    scored: dict[str, tuple[int, str]] = {}
    for w in [*candidates, *extra]:
        if not w or not all(_HAN.match(c) for c in w):
            continue
        key = _reading(w)
        # Frequency decides: bingdu stays 病毒 (virus), not the term 冰毒 — a decoded form may only refuse,
        # so it must not turn an everyday word into a dangerous one.
        f = int(freq.get(w, 0))
        if key not in scored or f > scored[key][0]:
            scored[key] = (f, w)
    words = {k: w for k, (_, w) in scored.items()}
    return _WordMap(words, max((len(k) for k in words), default=0))


def _pinyin_to_words(syllables: Sequence[str], wm: _WordMap) -> str | None:
    """Syllables as characters: fewest words from the map covering them all, or None."""
    n = len(syllables)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(1, n + 1):
        for j in range(max(0, i - 4), i):
            prev, cur = best[j], best[i]
            word = wm.words.get("".join(syllables[j:i]))
            if prev is not None and word is not None and (cur is None or len(prev) + 1 < len(cur)):
                best[i] = [*prev, word]
    last = best[n]
    return "".join(last) if last is not None else None


@lru_cache(maxsize=4)
def _readings_of(terms: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_reading(t) for t in terms)


def decode_pinyin(text: str, terms: Sequence[str] = ()) -> str | None:
    """`text` with its pinyin written in characters; None when it has none worth decoding.

    Consecutive Latin words that each read as pinyin form a group (``zenme zhizao zhadan``; in ``zhadan
    please`` only ``zhadan``); a group is decoded when it has at least two syllables or is a term's reading."""
    low = normalize(text)
    latin = re.findall(r"[a-z]+", low)
    split = {w: _split_syllables(w) for w in set(latin)}
    if len(latin) >= 3 and sum(split[w] is None for w in latin) * 4 >= len(latin):
        return None  # English (a quarter or more of the words are not pinyin): "... the police ..."
    groups: list[tuple[int, int, list[str]]] = []
    for m in re.finditer(r"[a-z]+", low):
        syl = split[m.group()]
        if syl is None:
            continue
        gap = low[groups[-1][1] : m.start()] if groups else None
        if groups and gap is not None and re.fullmatch(r"[ '\-]*", gap):
            start, _, prev = groups[-1]
            groups[-1] = (start, m.end(), prev + syl)
        else:
            groups.append((m.start(), m.end(), syl))
    term_readings = _readings_of(tuple(terms))
    out: list[str] = []
    pos = 0
    for start, end, syl in groups:
        if len(syl) < 2 and "".join(syl) not in term_readings:
            continue
        if all(w in _ENGLISH for w in re.findall(r"[a-z]+", low[start:end])):
            continue  # "are you", "she can": English that happens to spell pinyin
        with _LOCK:
            wm = _word_map(tuple(terms))
        hanzi = _pinyin_to_words(syl, wm)
        if hanzi is None:
            continue
        out += [low[pos:start], hanzi]
        pos = end
    if not out:
        return None
    out.append(low[pos:])
    return "".join(out)


# ---------------------------------------------------------------------------------------------- homophones
@dataclass(frozen=True)
class _TermIndex:
    """Dangerous terms by their first syllable, and the characters that can be read as any term syllable."""

    by_first: dict[str, list[tuple[tuple[str, ...], str]]]
    by_char: dict[str, tuple[str, ...]]  # CJK character → its readings that occur in some term

    def readings(self, ch: str) -> tuple[str, ...]:
        """The readings of `ch` that occur in some term (empty for most characters)."""
        return self.by_char.get(ch, ())


def _term_tables(
    terms: tuple[str, ...],
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Each term's usual toneless syllables (pypinyin's phrase readings) and every CJK character that can be
    read as one of them. Cached on disk: importing pypinyin's tables costs ~0.7 s, which a one-question CLI
    process should not pay for a fixed term list."""
    from importlib.metadata import version

    from knowledge.startup_cache import cached_table

    def build() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        from pypinyin import lazy_pinyin
        from pypinyin.pinyin_dict import pinyin_dict

        syllables = {t: tuple(lazy_pinyin(t)) for t in terms}
        wanted = {s for syl in syllables.values() if len(syl) >= 2 for s in syl}
        by_char: dict[str, tuple[str, ...]] = {}
        for code in pinyin_dict:
            ch = chr(code)
            if _HAN.match(ch):
                hits = tuple(r for r in _char_readings(ch) if r in wanted)
                if hits:
                    by_char[ch] = hits
        return syllables, by_char

    return cached_table("pinyin-term-tables", f"{version('pypinyin')}\n" + "\n".join(terms), build)


@lru_cache(maxsize=4)
def _term_index(terms: tuple[str, ...]) -> _TermIndex:
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    syllables, by_char = _term_tables(terms)
    for t in terms:
        syl = syllables[t]
        if len(syl) >= 2:
            by_first.setdefault(syl[0], []).append((syl, t))
    return _TermIndex(by_first, by_char)


def restore_homophones(text: str, terms: Sequence[str]) -> str | None:
    """`text` with homophone / letter-split spellings of `terms` written as the terms; None when none found.

    Tokens are the characters that can sound like a term syllable and the pinyin syllables of Latin runs;
    a Latin letter or two between two such characters (炸d单) is skipped. A span that is an ordinary word of
    the question (jieba segmentation, or a common dictionary word) is left alone."""
    if not terms:
        return None
    low = normalize(text)
    idx = _term_index(tuple(terms))
    # (start, end, readings) tokens over the text
    tokens: list[tuple[int, int, tuple[str, ...]]] = []
    i = 0
    while i < len(low):
        ch = low[i]
        readings = idx.readings(ch)
        if readings:
            tokens.append((i, i + 1, readings))
            i += 1
            continue
        m = _LATIN_RUN.match(low, i) if "a" <= ch <= "z" else None
        if m:
            run = _split_syllables(m.group()) or []
            if run and len(m.group()) > 2:
                # a pinyin run: each syllable a token spanning the run (the run is replaced as a whole)
                tokens.extend((m.start(), m.end(), (s,)) for s in run)
            elif tokens and tokens[-1][1] == i and m.end() < len(low) and idx.readings(low[m.end()]):
                pass  # one or two letters inserted between two term characters (炸d单): skipped
            else:
                tokens.append((m.start(), m.end(), ()))
            i = m.end()
            continue
        tokens.append((i, i + 1, ()))
        i += 1
    hits: list[tuple[int, int, str]] = []
    k = 0
    while k < len(tokens):
        found = None
        for first in tokens[k][2]:
            for syl, term in idx.by_first.get(first, []):
                window = tokens[k : k + len(syl)]
                if len(window) == len(syl) and all(s in tok[2] for s, tok in zip(syl, window, strict=True)):
                    found = (window[0][0], window[-1][1], term, len(syl))
                    break
            if found:
                break
        if found is None:
            k += 1
            continue
        start, end, term, n = found
        span = low[start:end]
        if span != term and not _ordinary_word(low, start, end):
            hits.append((start, end, term))
        k += n
    if not hits:
        return None
    out, pos = [], 0
    for start, end, term in hits:
        if start < pos:
            continue
        out += [low[pos:start], term]
        pos = end
    out.append(low[pos:])
    return "".join(out)


def _ordinary_word(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is (part of) an ordinary word: a common dictionary word itself, or cut
    through by the question's own segmentation (包扎|单独 — the span 扎单 straddles two words)."""
    import jieba

    span = text[start:end]
    if not all(_HAN.match(c) for c in span):
        return False  # letters inside (zha弹, 炸d单) are never an ordinary word
    jieba.dt.check_initialized()
    if int(jieba.dt.FREQ.get(span, 0)) >= 3:
        return True
    bounds = {0}
    pos = 0
    for w in jieba.cut(text, HMM=False):
        pos += len(w)
        bounds.add(pos)
    return start not in bounds or end not in bounds


# ---------------------------------------------------------------------------------------------- base64 / %xx
def _readable(raw: bytes) -> str | None:
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not s.strip():
        return None
    printable = sum(ch.isprintable() or ch.isspace() for ch in s) / len(s)
    meaningful = bool(_HAN.search(s)) or len(re.findall(r"[A-Za-z]", s)) >= 4
    return s if printable >= 0.9 and meaningful else None


def decode_encodings(text: str) -> str | None:
    """`text` with base64 tokens and %-escapes replaced by what they decode to; None when there are none."""
    changed = False
    out = text
    if _PERCENT.search(out):
        decoded = unquote(out)
        if decoded != out:
            out, changed = decoded, True

    def b64(m: re.Match[str]) -> str:
        nonlocal changed
        token = m.group()
        if token.isdigit() or token.isalpha() and token.islower():
            return token  # plain numbers / words are not base64 worth trying
        for decoder in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                raw = decoder(token + "=" * (-len(token) % 4))
            except (binascii.Error, ValueError):
                continue
            s = _readable(raw)
            if s is not None:
                changed = True
                return f" {s} "
        return token

    out = _B64_TOKEN.sub(b64, out)
    return out if changed else None


def variants(text: str, terms: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(how, text) decoded variants of `text` that differ from it: "encoded", "pinyin", "homophone"."""
    out: list[tuple[str, str]] = []
    seen = {normalize(text)}

    def add(how: str, value: str | None) -> None:
        if value is not None and normalize(value) not in seen:
            seen.add(normalize(value))
            out.append((how, value))

    decoded = decode_encodings(text)
    add("encoded", decoded)
    for how, base in (("", text), ("encoded+", decoded)):
        if base is None:
            continue
        pinyin = decode_pinyin(base, terms) if re.search(r"[A-Za-z]{2}", base) else None
        add(f"{how}pinyin", pinyin)
        add(f"{how}homophone", restore_homophones(pinyin or base, terms))
    return out


def warm(terms: Iterable[str]) -> None:
    """Build the pinyin tables now rather than on the first question that needs them."""
    key = tuple(terms)
    _term_index(key)
    _readings_of(key)
    _syllables()
    _word_map(key)


__all__ = ["decode_encodings", "decode_pinyin", "restore_homophones", "variants", "warm"]
