"""Chinese numerals in article numbers."""

from __future__ import annotations

import pytest

from knowledge.numerals import cn_to_int, int_to_cn


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
