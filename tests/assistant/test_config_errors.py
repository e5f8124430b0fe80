"""`assistant.config.load_config`: every error in every section at once, with its full dotted path."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import load_config
from assistant.errors import ConfigError


def _error(home: Path, text: str) -> str:
    (home / "yiju.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(None, home)
    return str(info.value)


def test_unknown_generator_kind_names_generator_kind(tmp_path: Path) -> None:
    msg = _error(tmp_path, "generator: {kind: gpt5}\n")
    assert msg.startswith(f"{tmp_path / 'yiju.yaml'}: ")
    assert "generator.kind: " in msg and "'gpt5'" in msg
    assert ": : " not in msg  # no empty field path


def test_typos_in_sections_carry_the_path_from_the_file_root(tmp_path: Path) -> None:
    msg = _error(tmp_path, "generator: {kind: extractive, modle: x}\nknowledge: {stor: y}\n")
    assert "generator.modle: " in msg and "(got 'x')" in msg
    assert "extractive.modle" not in msg
    assert "knowledge.stor: " in msg and "(got 'y')" in msg


def test_every_section_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        "generator: {kind: transformers_peft, model_dir: /m, modle: x}\n"
        "server: {prot: 1}\n"
        "knowledge:\n  embedder: {kind: sentence_transformers, pathh: /e}\n"
    )
    msg = _error(tmp_path, text)
    for path in (
        "generator.modle",
        "server.prot",
        "knowledge.embedder.pathh",
        "knowledge.embedder.path",  # required field missing
    ):
        assert f"{path}: " in msg, (path, msg)
    assert "transformers_peft.modle" not in msg and "sentence_transformers.pathh" not in msg
    assert "4 problem(s)" in msg


def test_nested_union_and_missing_tag(tmp_path: Path) -> None:
    msg = _error(tmp_path, "knowledge: {store: {kind: chroma_http, hots: h}}\ngenerator: {}\n")
    assert "knowledge.store.hots: " in msg
    assert "generator.kind: " in msg and "(missing)" in msg


def test_valid_config_still_loads(tmp_path: Path) -> None:
    (tmp_path / "yiju.yaml").write_text(
        "generator: {kind: openai_compat, base_url: 'http://127.0.0.1:1/v1'}\nserver: {port: 9000}\n",
        encoding="utf-8",
    )
    cfg = load_config(None, tmp_path)
    assert cfg.server.port == 9000 and cfg.generator_config().kind == "openai_compat"
