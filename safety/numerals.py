"""Chinese numerals for citations: re-exported from `knowledge.numerals`, the single implementation."""

from knowledge.numerals import CN_NUMERAL_CHARS, cn_to_int, int_to_cn, parse_article_no

__all__ = ["CN_NUMERAL_CHARS", "cn_to_int", "int_to_cn", "parse_article_no"]
