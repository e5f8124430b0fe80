"""The learned ranker: a linear model over a few features of each candidate passage.

Candidates come from the word BM25, the character-bigram BM25, the dense search and a heading index (law
title + chapter / guideline heading paths). Each candidate gets the features in `FEATURES`; a profile
(one per knowledge domain, e.g. `legal`, `medical`) holds standardisation and weights learned by logistic
regression on the dev sets with k-fold cross-validation by question (bench/train_ranker.py writes
knowledge/ranker_weights.json; the README's ablation table gives the cross-validated figures).

Why these features (measured in bench/retrieval_ablation.py):
- the source hierarchy (`kind`): everyday questions are governed by 法律 before 行政法规 and 司法解释;
- the heading field: guideline questions name a disease and a section (临床表现, 诊断, 治疗…) that the
  heading path holds while the body text may not repeat it;
- how well the candidate's law scores as a whole (`law_best`): the right law is found far more often than
  the right article;
- idf-weighted coverage of the question's bigrams, of the whole question and of its asking sentence;
- the gaps of dense cosine and coverage to the question's best candidate (medical layperson hit@5 +0.05 CV).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

KINDS = ("宪法", "法律", "行政法规", "司法解释", "部门规章", "地方性法规", "指南", "其他")
FEATURES = (
    "word_bm25",  # jieba-word BM25 / best in the mask
    "bigram_bm25",  # character-bigram BM25 / best
    "dense",  # cosine with the question
    "heading_bm25",  # bigram BM25 over law title + headings / best
    "fused",  # the hand-set fusion (word + bigram + 0.7 dense)
    "fused_rrank",  # 1 / (1 + rank by the fused score)
    "law_best",  # best fused score of any candidate of the same law / best overall
    "coverage",  # idf-weighted share of the question's bigrams found in the passage
    "focus_coverage",  # the same for the asking sentence
    "log_length",  # log(1 + characters)
    "purpose_clause",  # 为了……制定本法 (first articles that match everything)
    # the same measures relative to the question's best candidate (value − max over the candidates): a
    # pointwise model cannot otherwise tell "0.6 cosine" for a question whose best is 0.6 from one whose best is 0.9
    "dense_gap",
    "coverage_gap",
    "focus_gap",
    *(f"kind_{k}" for k in KINDS),
)
WEIGHTS_FILE = Path(__file__).with_name("ranker_weights.json")


@dataclass(frozen=True)
class Profile:
    """Standardisation and weights of one ranking profile."""

    name: str
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def score(self, x: np.ndarray) -> np.ndarray:
        """The model's probability that each row of `x` (columns in FEATURES order) is relevant: in 0..1,
        so `Passage.score` stays non-negative and thresholds such as `retrieval.min_score` keep meaning."""
        cols = [FEATURES.index(f) for f in self.features]
        z = (x[:, cols] - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(z @ self.coef + self.intercept)))

    def to_json(self) -> dict:
        """A JSON-friendly dict (what ranker_weights.json holds per profile)."""
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def from_json(cls, name: str, data: dict) -> Profile:
        """Read one profile; unknown feature names are an error naming them."""
        unknown = [f for f in data["features"] if f not in FEATURES]
        if unknown:
            raise ValueError(f"ranker profile {name!r}: unknown features {unknown}")
        return cls(
            name=name,
            features=tuple(data["features"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=float(data["intercept"]),
        )


@lru_cache(maxsize=8)
def load_profiles(path: str | None = None) -> dict[str, Profile]:
    """Profiles by name from a weights file (default: the shipped knowledge/ranker_weights.json)."""
    file = Path(path) if path else WEIGHTS_FILE
    if not file.exists():
        return {}
    data = json.loads(file.read_text(encoding="utf-8"))
    return {name: Profile.from_json(name, p) for name, p in data.get("profiles", {}).items()}


def pick_profile(profiles: dict[str, Profile], domain: str | None, default: str = "legal") -> Profile | None:
    """The profile of `domain`, else the default one (None when there are no profiles)."""
    if domain and domain in profiles:
        return profiles[domain]
    return profiles.get(default) or next(iter(profiles.values()), None)


def kind_index(kind: str) -> int:
    """Position of a source kind in KINDS (unknown kinds count as 其他)."""
    return KINDS.index(kind) if kind in KINDS else KINDS.index("其他")


def is_purpose_clause(text: str) -> bool:
    """为了规范……，制定本法。 — the first article of most laws, lexically close to every question."""
    head = text.lstrip()[:160]
    return head.startswith("为") and "制定本" in head


@dataclass
class QueryScores:
    """What one question scored against every passage (full-length arrays) plus its bigram columns."""

    word: np.ndarray
    bigram: np.ndarray
    heading: np.ndarray
    dense: dict[int, float]
    gram_cols: np.ndarray  # bigram-vocabulary columns of the question's distinct bigrams
    focus_cols: np.ndarray  # … of its asking sentence (empty: the question has one sentence)


def _best(scores: np.ndarray, mask: np.ndarray) -> float:
    vals = scores[mask]
    return float(vals.max()) if vals.size and vals.max() > 0 else 1.0


def _coverage(bigram_csr, idf: np.ndarray, cands: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if not len(cols):
        return np.zeros(len(cands), dtype=np.float32)
    present = (bigram_csr[cands][:, cols] > 0).toarray().astype(np.float32)
    w = idf[cols]
    return present @ w / max(float(w.sum()), 1e-9)


def candidate_features(
    cands: np.ndarray,
    qs: QueryScores,
    mask: np.ndarray,
    *,
    law_idx: np.ndarray,
    kinds: np.ndarray,
    log_length: np.ndarray,
    purpose: np.ndarray,
    bigram_csr,
    bigram_idf: np.ndarray,
) -> np.ndarray:
    """The FEATURES matrix (one row per candidate position in `cands`)."""
    n = len(cands)
    word = qs.word[cands] / _best(qs.word, mask)
    bigram = qs.bigram[cands] / _best(qs.bigram, mask)
    heading = qs.heading[cands] / _best(qs.heading, mask)
    dense = np.array([qs.dense.get(int(p), 0.0) for p in cands], dtype=np.float32)
    fused = word + bigram + 0.7 * dense
    order = np.argsort(-fused, kind="stable")
    rank = np.empty(n, dtype=np.float32)
    rank[order] = np.arange(n)
    laws = law_idx[cands]
    best_of_law: dict[int, float] = {}
    for li, f in zip(laws.tolist(), fused.tolist(), strict=True):
        if f > best_of_law.get(li, -math.inf):
            best_of_law[li] = f
    top = max(float(fused.max()) if n else 1.0, 1e-9)
    law_best = np.array([best_of_law[li] / top for li in laws.tolist()], dtype=np.float32)
    coverage = _coverage(bigram_csr, bigram_idf, cands, qs.gram_cols)
    focus = _coverage(bigram_csr, bigram_idf, cands, qs.focus_cols) if len(qs.focus_cols) else coverage

    def gap(v: np.ndarray) -> np.ndarray:
        return v - (float(v.max()) if n else 0.0)

    onehot = np.zeros((n, len(KINDS)), dtype=np.float32)
    onehot[np.arange(n), kinds[cands]] = 1.0
    return np.column_stack(
        [
            word,
            bigram,
            dense,
            heading,
            fused,
            1.0 / (1.0 + rank),
            law_best,
            coverage,
            focus,
            log_length[cands],
            purpose[cands].astype(np.float32),
            gap(dense),
            gap(coverage),
            gap(focus),
            onehot,
        ]
    ).astype(np.float32)
