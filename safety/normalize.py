"""Text normalisation shared by every safety check: refusal patterns, the classifier, PII masking and
keyword interception all look at the same canonical form, so a disguise that fools one fools none.

`normalize(text)`:
1. NFKC — full-width → half-width (１３７ → 137, ＡＢＣ → ABC), compatibility forms folded;
2. default-ignorable and other invisible format characters removed (U+200B zero width space, U+3164 ㅤ
   Hangul filler, U+00AD soft hyphen, bidi controls, variation selectors, tag characters…), before and after
   NFKC (NFKC turns U+3164 into U+1160, itself invisible);
3. traditional and variant forms → simplified with OpenCC (`t2s`: 怎麼製作炸彈 → 怎么制作炸弹, 保証 → 保证);
4. lower case, whitespace runs collapsed to one space.

`normalize_forms(text)` gives that `spaced` form and a `compact` one with every space and punctuation mark
removed ("炸 药" / "炸*药" / "保证胜 诉" → "炸药" / "保证胜诉"), the two views patterns are matched against.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

# Unicode's Default_Ignorable_Code_Point set (DerivedCoreProperties.txt), written as ranges: characters
# that render as nothing. Anything of general category Cf (format) is removed as well.
_DEFAULT_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff"
)
_IGNORABLE_RE = re.compile(f"[{_DEFAULT_IGNORABLE}]")
_NON_WORD = re.compile(r"[\W_]+")

_CONVERTER_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _converter():  # noqa: ANN202 - opencc ships no type hints
    import opencc  # the C++ OpenCC library; imported once, on first use

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional / variant Chinese → simplified (OpenCC t2s); other scripts pass through unchanged."""
    if not text or text.isascii():
        return text
    with _CONVERTER_LOCK:  # one converter object shared between threads
        return _converter().convert(text)


def remove_invisible(text: str) -> str:
    """`text` without default-ignorable code points and format (Cf) characters."""
    text = _IGNORABLE_RE.sub("", text)
    if text.isascii():
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def normalize(text: str) -> str:
    """The canonical form: NFKC, invisible characters removed, simplified, lower case, spaces collapsed."""
    s = remove_invisible(unicodedata.normalize("NFKC", remove_invisible(text or "")))
    s = to_simplified(s).lower()
    return " ".join(s.split())


def compact(text: str) -> str:
    """An already normalised text with every space, punctuation mark and underscore removed."""
    return _NON_WORD.sub("", text)


@lru_cache(maxsize=4096)
def normalize_forms(text: str) -> tuple[str, str]:
    """Two views of `text` that patterns are matched against: (`spaced`, `compact`).

    `spaced` is `normalize(text)`; `compact` is the same with every space and punctuation mark removed, so
    "炸 药" / "炸*药" still match 炸药. Cached: every rule of a policy asks for the same question's forms.
    """
    spaced = normalize(text)
    return spaced, compact(spaced)


__all__ = ["compact", "normalize", "normalize_forms", "remove_invisible", "to_simplified"]
