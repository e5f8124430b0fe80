"""Second-layer input check: a character + word n-gram TF-IDF logistic-regression refusal classifier.

Features (both blocks on the normalised text, see safety/normalize.py):
- character 1..`ngram_max`-grams: need no tokenizer, cope with Chinese, English and mixed script, and catch
  paraphrases that share pieces with known requests ("搞点叶子", "口径对好");
- word 1..`word_ngram_max`-grams from jieba (English words come out as words too): carry intent that
  characters blur ("不被发现", "track my"). Each block is L2-normalised on its own.

A multinomial logistic regression over {benign, <refusal category>…} gives P(harmful) = 1 − P(benign) and
the most likely category. Measured against gradient boosting and a small neural model on grouped
cross-validation (see `safety/crossval.py`, README "Safety"), it generalised best and predicts in well
under a millisecond.

Two ways to get a model:
- `train_classifier(harmful, benign)` — at policy load, from the policy's own examples (in-process cache);
- `LinearTextClassifier.load(path)` — a shipped artifact (`safety/models/<name>.npz` + `.json` manifest)
  trained on the public data by `python -m safety.train_classifier`; inference is plain numpy, no pickle.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from safety.normalize import normalize

BENIGN = "benign"
_JIEBA_LOCK = threading.Lock()


@dataclass(frozen=True)
class Prediction:
    """What the classifier thinks of one question."""

    category: str  # argmax over the harmful categories
    p_harm: float  # 1 - P(benign)
    p_category: float  # probability of `category` itself


def prepare(text: str) -> str:
    """The normalised form the model sees (NFKC, invisible characters removed, simplified, lower case)."""
    return normalize(text)


def _jieba():  # noqa: ANN202
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def words(text: str) -> list[str]:
    """jieba tokens of an already prepared text, spaces and punctuation-only tokens dropped."""
    if not text:
        return []
    with _JIEBA_LOCK:  # jieba initialises its dictionary lazily and not thread-safely
        toks = _jieba().lcut(text)
    return [t for t in toks if t.strip() and any(ch.isalnum() for ch in t)]


def char_grams(text: str, n_max: int) -> list[str]:
    """Character 1..n_max-grams of `text` (as scikit-learn's char analyzer makes them)."""
    out: list[str] = []
    for n in range(1, n_max + 1):
        out += [text[i : i + n] for i in range(len(text) - n + 1)]
    return out


def word_grams(text: str, n_max: int) -> list[str]:
    """Word 1..n_max-grams (joined by a space) of `text`."""
    toks = words(text)
    out: list[str] = []
    for n in range(1, n_max + 1):
        out += [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    return out


@dataclass
class FeatureBlock:
    """One TF-IDF block: vocabulary term → column, and the idf of each column (sublinear tf, L2 norm)."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    offset: int = 0

    def add(self, grams: Sequence[str], cols: list[int], vals: list[float]) -> None:
        counts = Counter(g for g in grams if g in self.vocabulary)
        if not counts:
            return
        idx = [self.vocabulary[g] for g in counts]
        w = np.array([(1.0 + math.log(c)) for c in counts.values()]) * self.idf[idx]
        norm = float(np.sqrt((w * w).sum())) or 1.0
        cols += [self.offset + i for i in idx]
        vals += list(w / norm)


@dataclass
class LinearTextClassifier:
    """TF-IDF blocks + a multinomial linear model; numpy-only inference, saved as .npz (no pickle)."""

    labels: list[str]
    chars: FeatureBlock
    word_block: FeatureBlock | None
    coef: np.ndarray  # (n_labels, n_features) — one row for binary models (positive = labels[1])
    intercept: np.ndarray
    ngram_max: int = 3
    word_ngram_max: int = 2
    manifest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._benign_index = self.labels.index(BENIGN)

    # ------------------------------------------------------------------ inference
    def features(self, text: str) -> tuple[list[int], list[float]]:
        """Sparse (columns, values) of an already prepared text."""
        cols: list[int] = []
        vals: list[float] = []
        self.chars.add(char_grams(text, self.ngram_max), cols, vals)
        if self.word_block is not None and self.word_ngram_max > 0:
            self.word_block.add(word_grams(text, self.word_ngram_max), cols, vals)
        return cols, vals

    def probabilities(self, text: str) -> np.ndarray:
        """Class probabilities (in `labels` order) of a raw text."""
        cols, vals = self.features(prepare(text))
        scores = self.coef[:, cols] @ np.asarray(vals, dtype=np.float64) + self.intercept
        if len(self.labels) == 2 and scores.shape[0] == 1:
            p1 = 1.0 / (1.0 + math.exp(-float(scores[0])))
            return np.array([1.0 - p1, p1])
        scores = scores - scores.max()
        e = np.exp(scores)
        return e / e.sum()

    def predict(
        self, text: str, *, among: Collection[str] | None = None, exclude: Collection[str] = ()
    ) -> Prediction:
        """Harm probability and most likely harmful category of `text`.

        `exclude`: categories whose probability does not count as harm (a policy's `classifier.exclude`).
        `among`: the categories the caller can refuse under (a policy's own); the category reported is the
        likeliest of them, so a model trained with more categories than one policy has still names one
        that policy knows (empty when none of them is possible)."""
        probs = self.probabilities(text)
        p_harm = 1.0 - float(probs[self._benign_index])
        best, best_p = "", -1.0
        for i, label in enumerate(self.labels):
            if i == self._benign_index:
                continue
            if label in exclude:
                p_harm -= float(probs[i])
                continue
            if (among is None or label in among) and probs[i] > best_p:
                best, best_p = label, float(probs[i])
        return Prediction(category=best, p_harm=max(0.0, p_harm), p_category=max(0.0, best_p))

    def threshold_for(self, domain: str) -> float | None:
        """The calibrated P(harmful) threshold for `domain` from the manifest (None when absent)."""
        th = self.manifest.get("thresholds") or {}
        value = th.get(domain, th.get("default"))
        return float(value) if value is not None else None

    # ------------------------------------------------------------------ persistence
    def save(self, path: Path) -> None:
        """Write `<path>.npz` (arrays) and `<path>.json` (manifest)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        wb = self.word_block
        np.savez_compressed(
            path.with_suffix(".npz"),
            labels=np.array(self.labels),
            char_terms=np.array(_terms(self.chars.vocabulary)),
            char_idf=self.chars.idf.astype(np.float32),
            word_terms=np.array(_terms(wb.vocabulary) if wb else [], dtype=str),
            word_idf=(wb.idf if wb else np.zeros(0)).astype(np.float32),
            coef=self.coef.astype(np.float16),  # half precision: same decisions, half the size
            intercept=self.intercept.astype(np.float32),
            ngrams=np.array([self.ngram_max, self.word_ngram_max]),
        )
        path.with_suffix(".json").write_text(
            json.dumps(self.manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> LinearTextClassifier:
        """Read a model written by `save` (allow_pickle stays off: the file holds only arrays)."""
        path = Path(path)
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as z:
            char_terms = [str(t) for t in z["char_terms"]]
            word_terms = [str(t) for t in z["word_terms"]]
            chars = FeatureBlock({t: i for i, t in enumerate(char_terms)}, z["char_idf"].astype(np.float64))
            word_block = (
                FeatureBlock(
                    {t: i for i, t in enumerate(word_terms)},
                    z["word_idf"].astype(np.float64),
                    offset=len(char_terms),
                )
                if word_terms
                else None
            )
            ngram_max, word_ngram_max = (int(x) for x in z["ngrams"])
            model = cls(
                labels=[str(x) for x in z["labels"]],
                chars=chars,
                word_block=word_block,
                coef=z["coef"].astype(np.float64),
                intercept=z["intercept"].astype(np.float64),
                ngram_max=ngram_max,
                word_ngram_max=word_ngram_max,
            )
        manifest = path.with_suffix(".json")
        if manifest.is_file():
            model.manifest = json.loads(manifest.read_text(encoding="utf-8"))
        return model


# Kept for callers of the first release: the model class is the linear one.
RefusalClassifier = LinearTextClassifier


def _terms(vocabulary: Mapping[str, int]) -> list[str]:
    out = [""] * len(vocabulary)
    for t, i in vocabulary.items():
        out[i] = t
    return out


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    ngram_max: int = 3,
    word_ngram_max: int = 2,
    c: float = 10.0,
    min_df: int = 1,
) -> LinearTextClassifier:
    """Train on raw texts (prepared here) and their labels (one of them must be `benign`)."""
    # Imported here: scikit-learn costs about a second to import and only training needs it.
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    prepared = [prepare(t) for t in texts]
    char_vec = TfidfVectorizer(
        analyzer=lambda t: char_grams(t, ngram_max), sublinear_tf=True, lowercase=False, min_df=min_df
    )
    blocks = [char_vec.fit_transform(prepared)]
    word_vec = None
    if word_ngram_max > 0:
        word_vec = TfidfVectorizer(
            analyzer=lambda t: word_grams(t, word_ngram_max), sublinear_tf=True, lowercase=False, min_df=1
        )
        try:
            blocks.append(word_vec.fit_transform(prepared))
        except ValueError:  # no word at all (e.g. only punctuation): characters alone
            word_vec = None
    x = hstack(blocks).tocsr()
    # class_weight="balanced": a few dozen prompts per category against a long benign list must not make
    # every category improbable.
    model = LogisticRegression(C=c, max_iter=500, class_weight="balanced")
    model.fit(x, list(labels))
    n_char = len(char_vec.vocabulary_)
    chars = FeatureBlock(dict(char_vec.vocabulary_), char_vec.idf_.copy())
    word_block = (
        FeatureBlock(dict(word_vec.vocabulary_), word_vec.idf_.copy(), offset=n_char) if word_vec else None
    )
    return LinearTextClassifier(
        labels=[str(label) for label in model.classes_],
        chars=chars,
        word_block=word_block,
        coef=np.asarray(model.coef_, dtype=np.float64),
        intercept=np.asarray(model.intercept_, dtype=np.float64),
        ngram_max=ngram_max,
        word_ngram_max=word_ngram_max if word_block else 0,
    )


_CACHE: dict[str, LinearTextClassifier] = {}
_LOCK = threading.Lock()


def _key(
    harmful: Mapping[str, Sequence[str]], benign: Sequence[str], ngram_max: int, c: float, word_ngram_max: int
) -> str:
    h = hashlib.sha256()
    h.update(f"v2|{ngram_max}|{c}|{word_ngram_max}".encode())
    for cat in sorted(harmful):
        for t in harmful[cat]:
            h.update(f"\x00{cat}\x01{t}".encode())
    for t in benign:
        h.update(f"\x00{BENIGN}\x01{t}".encode())
    return h.hexdigest()


def train_classifier(
    harmful: Mapping[str, Sequence[str]],
    benign: Sequence[str],
    *,
    ngram_max: int = 3,
    c: float = 10.0,
    word_ngram_max: int = 2,
) -> LinearTextClassifier | None:
    """Train (or fetch from the in-process cache) a classifier; None when there is too little data.

    `harmful` maps category → harmful prompts; `benign` holds look-alike questions that must be answered.
    Identical training data (e.g. the legal and medical policies both reloaded) is trained only once.
    """
    harmful = {k: [t for t in v if t.strip()] for k, v in harmful.items()}
    harmful = {k: v for k, v in harmful.items() if v}
    benign = [t for t in benign if t.strip()]
    if not harmful or not benign:
        return None
    key = _key(harmful, benign, ngram_max, c, word_ngram_max)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        texts = list(benign)
        labels = [BENIGN] * len(benign)
        for cat, items in harmful.items():
            texts += items
            labels += [cat] * len(items)
        clf = fit(texts, labels, ngram_max=ngram_max, word_ngram_max=word_ngram_max, c=c)
        _CACHE[key] = clf
        return clf


__all__ = [
    "BENIGN",
    "FeatureBlock",
    "LinearTextClassifier",
    "Prediction",
    "RefusalClassifier",
    "fit",
    "prepare",
    "train_classifier",
]
