"""Chinese numerals in article numbers."""

from __future__ import annotations

import pytest

from knowledge.numerals import article_label, cn_to_int, int_to_cn, parse_article_no


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一", 1),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("一百零五", 105),
        ("一百一十", 110),
        ("一千零一十", 1010),
        ("一千二百六十", 1260),
        ("一千一百六十五", 1165),
        ("1165", 1165),
        ("４７", 47),
        ("两百", 200),
    ],
)
def test_cn_to_int(text: str, value: int) -> None:
    assert cn_to_int(text) == value


def test_round_trip_up_to_civil_code_end() -> None:
    for n in range(1, 1261):
        assert cn_to_int(int_to_cn(n)) == n


@pytest.mark.parametrize("bad", ["", "条", "abc", "一二三"])
def test_rejects_non_numerals(bad: str) -> None:
    with pytest.raises(ValueError):
        cn_to_int(bad)


@pytest.mark.parametrize(
    ("cn", "n"),
    [
        ("一", 1),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("四十七", 47),
        ("一百", 100),
        ("一百零二", 102),
        ("一百一十", 110),
        ("一千零五", 1005),
        ("一千一百六十五", 1165),
        ("一千二百六十", 1260),
        ("两百", 200),
        ("一万零一", 10001),
        ("47", 47),
        ("４７", 47),
    ],
)
def test_numerals_round_trip_with_units(cn: str, n: int) -> None:
    assert cn_to_int(cn) == n
    if not cn.isdigit() and "两" not in cn and "４" not in cn:
        assert int_to_cn(n) == cn


def test_numeral_errors_and_labels() -> None:
    with pytest.raises(ValueError):
        cn_to_int("四十七条")
    with pytest.raises(ValueError):
        cn_to_int("")
    assert parse_article_no("第四十七条") == 47
    assert parse_article_no("第 1165 条") == 1165
    assert parse_article_no("附则") is None
    assert all(cn_to_int(int_to_cn(i)) == i for i in range(0, 3000))


def test_article_labels_and_lenient_parse() -> None:
    assert article_label(47) == "第四十七条"
    assert article_label(1260) == "第一千二百六十条"
    assert article_label(None) == ""
    assert parse_article_no("四十x") is None
    assert parse_article_no("") is None
    assert parse_article_no("47") == 47
