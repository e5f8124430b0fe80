"""The on-disk tables that keep a one-question CLI process short (knowledge/startup_cache.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from knowledge.startup_cache import cached_table


@pytest.fixture(autouse=True)
def _own_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_built_once_then_read_back(tmp_path: Path) -> None:
    calls: list[int] = []

    def build() -> dict[str, tuple[str, ...]]:
        calls.append(1)
        return {"炸弹": ("zha", "dan")}

    assert cached_table("t", "key", build) == {"炸弹": ("zha", "dan")}
    assert cached_table("t", "key", build) == {"炸弹": ("zha", "dan")}
    assert len(calls) == 1
    assert len(list(tmp_path.glob("yiju-t-*.marshal"))) == 1


def test_another_key_is_another_table() -> None:
    assert cached_table("t", "v1", lambda: {"a": 1}) == {"a": 1}
    assert cached_table("t", "v2", lambda: {"a": 2}) == {"a": 2}


def test_corrupt_copy_is_rebuilt(tmp_path: Path) -> None:
    cached_table("t", "key", lambda: frozenset({"工资"}))
    (path,) = tmp_path.glob("yiju-t-*.marshal")
    path.write_bytes(b"\x00garbage")
    assert cached_table("t", "key", lambda: frozenset({"劳动"})) == frozenset({"劳动"})


def test_noun_check_uses_jieba_tags() -> None:
    from knowledge.textproc import find_whole_words

    # 公司 inside the noun 保险公司 is not the employer; 工资 inside the verb phrase 拖欠工资 is wages
    assert find_whole_words("保险公司拒赔", ["公司"]) == []
    assert find_whole_words("公司拖欠工资", ["公司", "工资"]) == ["公司", "工资"]
