"""The routing model is fitted once per training set and read back from disk afterwards."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from assistant.routing import NgramRouterModel

TEXTS = ["被狗咬了要打疫苗吗", "高血压可以停药吗", "公司拖欠工资怎么办", "劳动合同到期不续签有补偿吗"]
LABELS = ["medical", "medical", "legal", "legal"]


def test_cached_model_equals_a_fresh_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    fresh = NgramRouterModel.train(TEXTS, LABELS)
    first = NgramRouterModel.train_cached(TEXTS, LABELS)
    assert len(list(tmp_path.glob("yiju-router-*.marshal"))) == 1
    again = NgramRouterModel.train_cached(TEXTS, LABELS)  # read back, not refitted
    for model in (first, again):
        assert model.labels == fresh.labels and model.vocab == fresh.vocab
        np.testing.assert_array_equal(model.weights, fresh.weights)
        np.testing.assert_array_equal(model.bias, fresh.bias)
        assert model.log_proba("狂犬疫苗") == pytest.approx(fresh.log_proba("狂犬疫苗"))
    assert max(again.log_proba("拖欠工资").items(), key=lambda kv: kv[1])[0] == "legal"
    NgramRouterModel.train_cached([*TEXTS, "孩子发烧怎么办"], [*LABELS, "medical"])
    assert len(list(tmp_path.glob("yiju-router-*.marshal"))) == 2  # another training set, another table
