"""Chinese numerals <-> integers for article numbers: 第四十七条, 第一千二百六十条, 第47条, 第４７条.

The one implementation in yiju: the loaders, exact look-up, citation verification (`safety`) and the
answer parser (`assistant`) all use it, since they must agree on what 第X条 means.
"""

from __future__ import annotations

import re

_DIGITS = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "Ｏ": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "贰": 2,
    "两": 2,
    "三": 3,
    "叁": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000}

CN_NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS) + "".join(_BIG_UNITS)
CN_NUM_CHARS = CN_NUMERAL_CHARS  # the name the loaders use

# The one 第X条 pattern, in pieces so callers can embed it in larger expressions (a citation, a prefix):
ARTICLE_DIGIT = rf"[0-9０-９{CN_NUMERAL_CHARS}]"
"""One character of an article number: Arabic (also full-width) or Chinese digits and units."""
ARTICLE_NUMERAL = ARTICLE_DIGIT + "+"
"""An article number as written (四十七, 47, ４７)."""
ARTICLE_SUFFIX = r"(?:\s*之\s*[一二三四五六七八九十]+)?"
"""The optional 之一/之二 of an inserted article (第一百二十条之一)."""
ARTICLE = rf"第\s*{ARTICLE_NUMERAL}\s*条{ARTICLE_SUFFIX}"
"""A whole article label, 第四十七条 / 第 47 条 / 第一百二十条之一 (no groups)."""
_ARTICLE_RE = re.compile(rf"第\s*({ARTICLE_NUMERAL})\s*条")
ARTICLE_PREFIX_RE = re.compile(rf"^\s*{ARTICLE}\s*")
"""The 第X条 that opens an article's text (to strip it from a statement)."""


def cn_to_int(text: str) -> int:
    """Convert a Chinese (四十七, 一百零二, 十) or Arabic (47, full-width ４７) numeral to int.

    Raises ValueError on anything that is not a numeral, so callers never get a silent 0.
    """
    s = text.strip()
    if not s:
        raise ValueError("empty numeral")
    # Full-width digits → ASCII; pure digits are the common fast path.
    s = s.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if s.isdigit():
        return int(s)
    if any(ch not in _DIGITS and ch not in _UNITS and ch not in _BIG_UNITS for ch in s):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    # Digit-by-digit strings (一二六) are not statute numerals: refuse them rather than misread them.
    if all(ch in _DIGITS for ch in s) and len(s) > 1:
        raise ValueError(f"not a numeral: {text!r}")
    total = 0  # everything above the current 万 section
    section = 0  # value inside the current 万 section
    digit: int | None = None
    for ch in s:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            # A bare unit (十 in 十二) means one of it.
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        else:  # 万
            section += digit or 0
            total += (section or 1) * _BIG_UNITS[ch]
            section = 0
            digit = None
    return total + section + (digit or 0)


def int_to_cn(n: int) -> str:
    """Convert a non-negative int to the Chinese numeral used in statutes (47 → 四十七, 102 → 一百零二)."""
    if n < 0:
        raise ValueError("negative numbers are not article numbers")
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n >= 100_000_000:
        raise ValueError("number too large")
    if n >= 10_000:
        high, low = divmod(n, 10_000)
        rest = int_to_cn(low) if low else ""
        if low and low < 1000:
            rest = "零" + rest
        return int_to_cn(high) + "万" + rest
    out: list[str] = []
    units = [(1000, "千"), (100, "百"), (10, "十")]
    zero_pending = False
    for value, unit in units:
        d, n = divmod(n, value)
        if d:
            if zero_pending:
                out.append("零")
                zero_pending = False
            out.append(digits[d] + unit)
        elif out:
            zero_pending = True
    if n:
        if zero_pending:
            out.append("零")
        out.append(digits[n])
    text = "".join(out)
    # 一十二 is written 十二 when it is the leading section.
    if text.startswith("一十"):
        text = text[1:]
    return text


def article_label(n: int | None) -> str:
    """第X条 label for an article number (47 → 第四十七条); "" for None."""
    if n is None:
        return ""
    try:
        return f"第{int_to_cn(n)}条"
    except ValueError:  # negative or huge: not a real article, keep it readable as written
        return f"第{n}条"


def parse_article_no(label: str) -> int | None:
    """Article number from a label such as 第四十七条 / 第47条 / 四十七; None when there is none."""
    m = _ARTICLE_RE.search(label)
    raw = m.group(1) if m else label.strip().removeprefix("第").removesuffix("条")
    try:
        return cn_to_int(raw)
    except ValueError:
        return None
