"""Config loaders and the answer parser under random and adversarial input.

* `assistant.config.load_config` raises only `ConfigError` (naming the file) and writes nothing;
* `adapters.config.load_config` raises only `TrainConfigError`;
* `safety.policy.load_policy` on a random YAML file raises only `PolicyError` (a ValueError);
* `assistant.grounding.format.parse` raises only `AnswerFormatError`, and what it returns round-trips
  through `render` → `parse` to the same category, points and citations.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.config import load_config as load_train_config
from adapters.errors import TrainConfigError
from assistant.config import load_config
from assistant.errors import ConfigError
from assistant.grounding.format import AnswerFormatError, parse, render

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalar = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=15)
yaml_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=10,
)
# Keys the real schemas know, so examples get past the first level often enough to probe deeper.
_CFG_KEYS = st.sampled_from(
    ["knowledge", "generator", "server", "domains_dirs", "retrieve_k", "store", "embedder", "kind", "x"]
)
_SECTION = st.fixed_dictionaries(
    {},
    optional={
        "knowledge": st.fixed_dictionaries(
            {},
            optional={
                "store": st.fixed_dictionaries(
                    {"kind": st.sampled_from(["chroma_local", "chroma_http", "redis", 3])},
                    optional={"port": yaml_value, "host": yaml_value, "path": yaml_value},
                ),
                "embedder": st.fixed_dictionaries(
                    {"kind": st.sampled_from(["static", "none", "sentence_transformers", "x"])}
                ),
                "collection": yaml_value,
            },
        ),
        "generator": st.fixed_dictionaries(
            {"kind": st.sampled_from(["extractive", "openai_compat", "transformers_peft", "nope", None])},
            optional={"base_url": yaml_value, "model": yaml_value, "timeout_s": yaml_value},
        ),
        "server": st.dictionaries(
            st.sampled_from(["port", "max_request_bytes", "public_rate_per_minute", "bogus"]),
            yaml_value,
            max_size=3,
        ),
        "retrieve_k": yaml_value,
        "domains_dirs": yaml_value,
    },
)
config_doc = st.one_of(
    _SECTION.map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    st.dictionaries(_CFG_KEYS, yaml_value, max_size=4).map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    st.text(max_size=200),
    st.sampled_from(
        ["", "---\n", "[1, 2]", "a: [", "knowledge: !!python/object:os.system x", "\t- x", "{a: 1"]
    ),
)


def _listing(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")}


@SETTINGS
@given(doc=config_doc)
def test_yiju_config_loader_raises_only_config_error_and_writes_nothing(tmp_path: Path, doc: str) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        home = Path(d)
        try:
            (home / "yiju.yaml").write_text(doc, encoding="utf-8")
        except UnicodeEncodeError:
            return
        before = _listing(home)
        try:
            cfg = load_config(None, home)
        except ConfigError as exc:
            assert "yiju.yaml" in str(exc), exc  # names the file
        else:
            # A config that loads is fully validated: its sections build too.
            cfg.knowledge_config()
            cfg.generator_config()
        assert _listing(home) == before


@SETTINGS
@given(doc=config_doc)
def test_explicit_config_path_errors_name_the_file(tmp_path: Path, doc: str) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        path = Path(d) / "custom.yaml"
        try:
            path.write_text(doc, encoding="utf-8")
        except UnicodeEncodeError:
            return
        try:
            load_config(path, Path(d))
        except ConfigError as exc:
            assert "custom.yaml" in str(exc)


_TRAIN_KEYS = st.sampled_from(
    [
        "base_model",
        "domain",
        "train_data_dir",
        "metadata_path",
        "output_dir",
        "lora_rank",
        "lora_alpha",
        "lora_dropout",
        "learning_rate",
        "max_steps",
        "num_train_epochs",
        "target_modules",
        "resume_from_checkpoint",
        "seed",
        "validation_split",
        "bogus_field",
    ]
)
train_doc = st.one_of(
    st.dictionaries(_TRAIN_KEYS, yaml_value, max_size=6).map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    st.text(max_size=120),
)


@SETTINGS
@given(doc=train_doc, overrides=st.dictionaries(_TRAIN_KEYS, yaml_value, max_size=3))
def test_train_config_loader_raises_only_train_config_error(
    tmp_path: Path, doc: str, overrides: dict
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        path = Path(d) / "train.yaml"
        try:
            path.write_text(doc, encoding="utf-8")
        except UnicodeEncodeError:
            return
        before = _listing(Path(d))
        try:
            load_train_config(path, overrides, home=Path(d) / "home")
        except TrainConfigError as exc:
            assert str(exc)
        assert _listing(Path(d)) == before


_POLICY_KEYS = st.sampled_from(
    ["name", "disclaimer", "refusal_categories", "intercepts", "injection", "pii", "review_message", "x"]
)
policy_doc = st.one_of(
    st.dictionaries(_POLICY_KEYS, yaml_value, max_size=5).map(
        lambda d: yaml.safe_dump(d, allow_unicode=True)
    ),
    st.text(max_size=100),
)


def _load_policy_file(tmp_path: Path, doc: str) -> None:
    from safety.policy import PolicyError, load_policy

    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        path = Path(d) / "policy.yaml"
        try:
            path.write_text(doc, encoding="utf-8")
        except UnicodeEncodeError:
            return
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            assert "policy.yaml" in str(exc), exc  # names the file
        else:
            assert isinstance(policy.disclaimer, str)


@SETTINGS
@given(doc=policy_doc)
def test_policy_loader_raises_only_policy_error(tmp_path: Path, doc: str) -> None:
    _load_policy_file(tmp_path, doc)


@pytest.mark.parametrize("include", ["true", "3", "[null]", "[{a: 1}]", "'no-such-fragment'"])
def test_policy_loader_bad_include_values_are_policy_errors(tmp_path: Path, include: str) -> None:
    _load_policy_file(tmp_path, f"include: {include}\nname: x\n")


# --------------------------------------------------------------------------- the answer parser
_PIECES = st.sampled_from(
    [
        "【分类】",
        "【要点】",
        "【依据】",
        "[分类]",
        "分类：",
        "**要点**:",
        "〖依据〗",
        "1. ",
        "2、",
        "（3）",
        "- ",
        "一、",
        "《劳动合同法》第四十七条",
        "《中华人民共和国劳动合同法》第47条",
        "《》第条",
        "《劳动合同法》第九九九九九九九九条",
        "第十条之一",
        "仅供参考",
        "劳动争议",
        "\n",
        "；",
        "\u200b",
        "《" * 3,
    ]
)
generator_output = st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=25).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=generator_output)
def test_answer_parser_raises_only_answer_format_error_and_round_trips(text: str) -> None:
    try:
        answer = parse(text)
    except AnswerFormatError as exc:
        assert str(exc)
        return
    assert answer.category and answer.points
    again = parse(render(answer, with_text=False))
    assert again.category == answer.category.split()[0]
    assert [(c.law, c.article_no) for c in again.citations] == [
        (c.law, c.article_no) for c in answer.citations
    ]


@settings(max_examples=100, deadline=None)
@given(
    category=st.sampled_from(["劳动争议", "医疗纠纷", "社会保险"]),
    points=st.lists(
        st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30), min_size=1, max_size=4
    ),
)
def test_rendered_answers_parse_back(category: str, points: list[str]) -> None:
    from safety.types import Answer

    clean = [p for p in (" ".join(x.split()) for x in points) if p and "【" not in p and "】" not in p]
    assume(clean)
    answer = Answer(category=category, points=clean, citations=[])
    try:
        back = parse(render(answer))
    except AnswerFormatError:
        # Only acceptable when the points themselves contain what reads as a section heading.
        assert any(h in "".join(clean) for h in ("分类", "要点", "依据")), clean
        return
    assert back.category == category
    assert len(back.points) >= 1


def test_environment_is_offline() -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
