"""Reviewers read why a turn was held in Chinese: every rule id a shipped policy can put on a turn has a
label in the policy YAML (`rule_labels:`), and an unknown id falls back to itself."""

from __future__ import annotations

import re

import pytest

from safety.policy import builtin_policies, load_policy

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("name", [n for n in builtin_policies() if n != "common"])
def test_every_rule_a_policy_can_emit_has_a_chinese_label(name: str) -> None:
    policy = load_policy(name)
    ids = policy.rule_ids() | {"citations.removed"}  # the pipeline's own amend verdict
    assert {"flag.prompt_injection", "intercept.pii_in_answer"} <= ids
    missing = sorted(i for i in ids if policy.rule_label(i) == i)
    assert not missing, f"{name}: no rule_labels entry for {missing}"
    assert all(CJK.search(policy.rule_label(i)) for i in ids)
    assert policy.rule_label("flag.prompt_injection") == "疑似提示词注入"


def test_an_unknown_rule_shows_its_id() -> None:
    assert load_policy("legal").rule_label("intercept.made_up") == "intercept.made_up"
