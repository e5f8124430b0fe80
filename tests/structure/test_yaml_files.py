"""The one YAML reader (knowledge/yamlfile.py) behind yiju.yaml, domain.yaml, safety policies and adapter
train configs: errors name the file and the line, a key written twice is refused, a BOM is fine."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.config import load_config as load_train_config
from adapters.errors import TrainConfigError
from assistant.config import load_config
from assistant.domains import load_domain_file
from assistant.errors import ConfigError, DomainError
from knowledge.yamlfile import YamlFileError, dotted, line_of, load_yaml, load_yaml_mapping
from safety.policy import PolicyError, load_policy

DUPLICATE = "name: legal\ndisclaimer: 一\nretrieval:\n  k: 4\ndisclaimer: 二\n"


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("a: 1\nb: [1, 2\nc: 3\n", encoding="utf-8")
    with pytest.raises(YamlFileError) as err:
        load_yaml(f)
    assert str(err.value).startswith(f"{f}:") and err.value.line is not None and err.value.line >= 2
    assert "not valid YAML" in str(err.value)


def test_duplicate_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    f = tmp_path / "dup.yaml"
    f.write_text(DUPLICATE, encoding="utf-8")
    with pytest.raises(
        YamlFileError,
        match=r"dup.yaml:5: not valid YAML: duplicate key 'disclaimer' \(first "
        r"written on line 2\)",
    ):
        load_yaml(f)
    # nested mappings too, and the same key in two different mappings is fine
    f.write_text("a:\n  x: 1\n  x: 2\n", encoding="utf-8")
    with pytest.raises(YamlFileError, match=r":3: .*duplicate key 'x'"):
        load_yaml(f)
    f.write_text("a: {x: 1}\nb: {x: 2}\nbase: &b {k: 1}\nuse:\n  <<: *b\n  k: 2\n", encoding="utf-8")
    assert load_yaml(f)["use"] == {"k": 2}


def test_bom_and_empty_files(tmp_path: Path) -> None:
    f = tmp_path / "bom.yaml"
    f.write_bytes("\ufeffname: 法律\n".encode())
    assert load_yaml(f) == {"name": "法律"}
    f.write_text("", encoding="utf-8")
    assert load_yaml_mapping(f) == ({}, "")
    f.write_text("- 1\n", encoding="utf-8")
    with pytest.raises(YamlFileError, match=r":1: the top level of a file must be a mapping, got list"):
        load_yaml_mapping(f)
    f.write_bytes(b"a: \xff\n")
    with pytest.raises(YamlFileError, match="not UTF-8"):
        load_yaml(f)
    with pytest.raises(YamlFileError, match="file not found"):
        load_yaml(tmp_path / "missing.yaml")


def test_line_of_a_dotted_field_path() -> None:
    text = "generator:\n  kind: openai_compat\nrules:\n  - a\n  - b\n"
    assert line_of(text, ("generator", "kind")) == 2
    assert line_of(text, ("rules", 1)) == 5
    assert dotted(("rules", 1, "pattern")) == "rules.1.pattern"


def test_every_config_kind_uses_it(tmp_path: Path) -> None:
    """yiju.yaml, domain.yaml, a safety policy and a train config all refuse a duplicate key, naming
    file and line, in their own error type."""
    (tmp_path / "yiju.yaml").write_text("default_domain: legal\ndefault_domain: medical\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"yiju.yaml:2: .*duplicate key 'default_domain'"):
        load_config(None, tmp_path)

    folder = tmp_path / "legal"
    folder.mkdir()
    (folder / "domain.yaml").write_text(DUPLICATE, encoding="utf-8")
    with pytest.raises(DomainError, match=r"domain.yaml:5: .*duplicate key 'disclaimer'"):
        load_domain_file(folder / "domain.yaml")

    policy = tmp_path / "policy.yaml"
    policy.write_text("include: [common]\ndisclaimer: 一\ndisclaimer: 二\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"policy.yaml:3: .*duplicate key 'disclaimer'"):
        load_policy(policy)

    train = tmp_path / "train.yaml"
    train.write_text("domain: legal\nepochs: 1\nepochs: 2\n", encoding="utf-8")
    with pytest.raises(TrainConfigError, match=r"train.yaml:3: .*duplicate key 'epochs'"):
        load_train_config(train)
