"""Second-layer input check: a char (+ English word) n-gram TF-IDF + logistic-regression refusal classifier.

The pattern layer (safety/rules.py) only catches phrasings its regexes anticipate. This small linear model
is trained when a policy loads, from the policy's own harmful `examples` per refusal category (plus any
extra `classifier.harmful` prompts) against a `classifier.benign` list of look-alike questions, so a
paraphrase that shares character n-grams with known harmful requests ("搞点叶子", "口径对好") is caught
even when no regex names it. Character n-grams need no tokenizer or downloaded weights and cope with
Chinese, English and mixed script alike. Training takes well under a second on a few hundred prompts.

Character n-grams are weak for English, though: "keylogger" and "key" share most of their n-grams, and
the 1-3-grams of an English sentence are dominated by function words. A second block of lower-cased word
1-2-grams over ASCII tokens only ("track my", "my girlfriend's") carries English intent; Chinese text has no
ASCII words, so it contributes nothing there and Chinese prompts are scored on char n-grams as before.

The model only ever adds refusals when the pattern layer allowed a question, and only above a
conservative probability threshold (see ClassifierRule in safety/rules.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from safety.normalize import normalize_forms

BENIGN = "benign"


@dataclass(frozen=True)
class Prediction:
    """What the classifier thinks of one question."""

    category: str  # argmax over the harmful categories
    p_harm: float  # 1 - P(benign)
    p_category: float  # probability of `category` itself


class RefusalClassifier:
    """A trained char (+ ASCII word) n-gram TF-IDF + multinomial logistic regression over {benign, <category>...}."""

    def __init__(self, vectorizer: Any, model: Any, labels: list[str]) -> None:
        self._vectorizer = vectorizer
        self._model = model
        self.labels = labels
        self._benign_index = labels.index(BENIGN)

    @staticmethod
    def prepare(text: str) -> str:
        """The normalised form the model sees (NFKC, lower case, traditional → simplified, spaces collapsed)."""
        return normalize_forms(text)[0]

    def predict(self, text: str) -> Prediction:
        """Harm probability and most likely harmful category of `text`."""
        probs = self._model.predict_proba(self._vectorizer.transform([self.prepare(text)]))[0]
        best, best_p = "", -1.0
        for i, label in enumerate(self.labels):
            if i != self._benign_index and probs[i] > best_p:
                best, best_p = label, float(probs[i])
        return Prediction(category=best, p_harm=1.0 - float(probs[self._benign_index]), p_category=best_p)


_CACHE: dict[str, RefusalClassifier] = {}
_LOCK = threading.Lock()


# ASCII words only (the text is already lower-cased by `prepare`): CJK runs never become "words".
_ASCII_WORD = r"[a-z0-9]+"


def _key(
    harmful: Mapping[str, Sequence[str]],
    benign: Sequence[str],
    ngram_max: int,
    c: float,
    word_ngram_max: int,
) -> str:
    h = hashlib.sha256()
    h.update(f"{ngram_max}|{c}|{word_ngram_max}".encode())
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
) -> RefusalClassifier | None:
    """Train (or fetch from the in-process cache) a classifier; None when there is too little data.

    `harmful` maps category → harmful prompts; `benign` holds look-alike questions that must be answered.
    `word_ngram_max` > 0 adds ASCII word 1..word_ngram_max-grams as a second feature block (0: chars only).
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
        # Imported here: scikit-learn costs about a second to import and only policy loading needs it.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        texts = [RefusalClassifier.prepare(t) for t in benign]
        labels = [BENIGN] * len(benign)
        for cat, items in harmful.items():
            texts += [RefusalClassifier.prepare(t) for t in items]
            labels += [cat] * len(items)
        chars = TfidfVectorizer(
            analyzer="char", ngram_range=(1, ngram_max), sublinear_tf=True, lowercase=False
        )
        vectorizer: Any = chars
        if word_ngram_max > 0:
            words = TfidfVectorizer(
                analyzer="word",
                token_pattern=_ASCII_WORD,
                ngram_range=(1, word_ngram_max),
                sublinear_tf=True,
                lowercase=False,
            )
            # Each block is L2-normalised on its own, so a mixed-script prompt is scored on both.
            vectorizer = FeatureUnion([("char", chars), ("word", words)])
        x = vectorizer.fit_transform(texts)
        # class_weight="balanced": a few dozen prompts per category against a longer benign list must
        # not make every category improbable.
        model = LogisticRegression(C=c, solver="newton-cg", max_iter=200, class_weight="balanced")
        model.fit(x, labels)
        clf = RefusalClassifier(vectorizer, model, [str(label) for label in model.classes_])
        _CACHE[key] = clf
        return clf


__all__ = ["BENIGN", "Prediction", "RefusalClassifier", "train_classifier"]
