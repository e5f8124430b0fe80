"""Chinese numerals as used in article numbers (第一千二百六十条) and back."""

from __future__ import annotations

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
CN_NUM_CHARS = "零〇一二两三四五六七八九十百千万"


def cn_to_int(text: str) -> int:
    """Parse a Chinese (or Arabic, also full-width) numeral: '一千二百六十' -> 1260, '十五' -> 15, '1165' -> 1165.

    Raises ValueError on anything else.
    """
    s = text.strip().translate(_FULLWIDTH)
    if not s:
        raise ValueError("empty numeral")
    if s.isdigit():
        return int(s)
    total, section, digit = 0, 0, None
    for ch in s:
        if ch in _DIGITS:
            if digit is not None and digit != 0 and _DIGITS[ch] != 0:
                # digit-by-digit style such as 一二六 is not a statute numeral
                raise ValueError(f"not a numeral: {text!r}")
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            if unit == 10000:
                section = (section + (digit or 0)) * unit
                total += section
                section = 0
            else:
                # a bare 十 at the start means 一十 (十五 = 15)
                section += (1 if digit is None else digit) * unit
            digit = None
        else:
            raise ValueError(f"not a numeral: {text!r}")
    return total + section + (digit or 0)


def int_to_cn(n: int) -> str:
    """Write 1..9999 the way statutes do: 15 -> 十五, 110 -> 一百一十, 1260 -> 一千二百六十, 105 -> 一百零五."""
    if n <= 0 or n >= 10000:
        raise ValueError(f"out of range: {n}")
    digits = "零一二三四五六七八九"
    parts: list[str] = []
    units = [(1000, "千"), (100, "百"), (10, "十"), (1, "")]
    zero_pending = False
    started = False
    for value, name in units:
        d = n // value % 10
        if d == 0:
            if started:
                zero_pending = True
            continue
        if zero_pending:
            parts.append("零")
            zero_pending = False
        if not (value == 10 and d == 1 and not started):
            parts.append(digits[d])
        parts.append(name)
        started = True
    return "".join(parts)
