"""Auto domain routing: keyword rules with a small learned model behind them, and a confidence.

Two kinds of evidence, combined in log space so each can outvote the other only when it is sure:
- keyword rules: each domain's `routing_keywords` (domain.yaml); a longer keyword is stronger evidence
  (劳动合同 beats 药 in "劳动合同里写的药品补贴"), a keyword inside a longer hit counts once;
- a character n-gram (1–3) softmax-regression model trained, when the domains load, on each domain folder's
  `routing_examples.txt` (colloquial questions, one a line) plus its keywords. It carries what no keyword
  list can: 「老人突然说话不清楚嘴歪了」 is medical, 「狗主人要赔偿吗」 legal. It is plain numpy (a few
  thousand features, trained in well under a second) so no heavy library loads at start-up.

`route()` returns the chosen domain, its probability (`confidence`) and the evidence, so a caller can say
"answered as medical, not sure" and offer the other domain. A question with no evidence at all goes to
the default domain (`fallback`). Domains without examples still route on their keywords (a third domain
needs no code).
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from assistant.domains import DomainSpec

EXAMPLES_FILE = "routing_examples.txt"
# Weight of one keyword-score point against the model's log-odds (a 4-character keyword moves the odds
# by e^(4·KEYWORD_WEIGHT)); chosen by cross-validation in bench/routing_eval.py.
KEYWORD_WEIGHT = 0.5
# Below this the answer says which domain was chosen and offers the other one (chat: one click).
UNSURE_BELOW = 0.8
# With no keyword hit, a model this unsure is no evidence: the default domain answers (`fallback`).
FALLBACK_BELOW = 0.6


class RouteDecision(BaseModel):
    """Which domain a question went to, how sure the router is, and why."""

    domain: str
    confidence: float = Field(default=1.0, description="Probability of the chosen domain (0–1)")
    scores: dict[str, float] = Field(default_factory=dict, description="Keyword score per domain")
    probabilities: dict[str, float] = Field(
        default_factory=dict, description="Combined probability per domain"
    )
    matched: dict[str, list[str]] = Field(default_factory=dict, description="Keywords found per domain")
    fallback: bool = Field(default=False, description="No evidence: the default domain was used")

    @property
    def unsure(self) -> bool:
        """Whether the caller should say which domain was chosen and offer another."""
        return self.fallback or self.confidence < UNSURE_BELOW

    def alternatives(self) -> list[str]:
        """The other domains, most probable first."""
        others = [d for d in self.probabilities if d != self.domain]
        return sorted(others, key=lambda d: -self.probabilities.get(d, 0.0))


def _domain_keywords(spec: DomainSpec) -> set[str]:
    return {w for w in spec.routing_keywords if w}


def keyword_hits(text: str, keywords: set[str]) -> list[str]:
    """Keywords occurring in text, dropping those contained in a longer hit (count 劳动合同 once, not 劳动 too)."""
    hits = sorted((w for w in keywords if w in text), key=len, reverse=True)
    kept: list[str] = []
    for w in hits:
        if not any(w in longer for longer in kept):
            kept.append(w)
    return kept


def keyword_score(hits: Iterable[str]) -> float:
    """Longer keywords are more specific; capping at 4 keeps one long word from swamping several short ones."""
    return float(sum(min(len(w), 4) for w in hits))


# ---------------------------------------------------------------------- the learned part
def normalise(text: str) -> str:
    """NFKC, lower case, letters and digits only (punctuation and spaces carry no domain)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if ch.isalnum())


def char_ngrams(text: str, n_max: int = 3) -> set[str]:
    """The distinct character 1..n_max-grams of the normalised text."""
    t = normalise(text)
    return {t[i : i + n] for n in range(1, n_max + 1) for i in range(len(t) - n + 1)}


class NgramRouterModel:
    """Multinomial logistic regression over binary char n-gram features (rows scaled to unit length).

    Trained with full-batch Adam from zeros for a fixed number of steps: deterministic, no sampling."""

    def __init__(self, vocab: dict[str, int], weights: np.ndarray, bias: np.ndarray, labels: list[str]):
        self.vocab = vocab
        self.weights = weights
        self.bias = bias
        self.labels = labels

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        l2: float = 1e-3,
        steps: int = 300,
        lr: float = 0.1,
        n_max: int = 3,
    ) -> NgramRouterModel:
        """Fit on (text, label) pairs; `l2` is the ridge penalty on the weights (per example)."""
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError("the routing model needs examples of at least two domains")
        vocab: dict[str, int] = {}
        rows: list[list[int]] = []
        for text in texts:
            grams = sorted(char_ngrams(text, n_max))
            rows.append([vocab.setdefault(g, len(vocab)) for g in grams])
        n, f, k = len(rows), len(vocab), len(classes)
        lengths = np.array([max(len(r), 1) for r in rows], dtype=np.float64)
        cols = np.fromiter((j for r in rows for j in r), dtype=np.int64)
        row_of = np.repeat(np.arange(n), [len(r) for r in rows])
        value = (1.0 / np.sqrt(lengths))[row_of]
        y = np.zeros((n, k))
        y[np.arange(n), [classes.index(label) for label in labels]] = 1.0
        w = np.zeros((f, k))
        b = np.zeros(k)
        m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        grad_w = np.empty_like(w)
        logits = np.empty((n, k))
        for step in range(1, steps + 1):
            # Sparse products by bincount (np.add.at is an order of magnitude slower).
            for c in range(k):
                logits[:, c] = np.bincount(row_of, weights=w[cols, c] * value, minlength=n) + b[c]
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            diff = (p - y) / n
            for c in range(k):
                grad_w[:, c] = np.bincount(cols, weights=diff[row_of, c] * value, minlength=f)
            grad_w += l2 * w
            grad_b = diff.sum(axis=0)
            for param, grad, m, v in ((w, grad_w, m_w, v_w), (b, grad_b, m_b, v_b)):
                m *= beta1
                m += (1 - beta1) * grad
                v *= beta2
                v += (1 - beta2) * grad * grad
                param -= lr * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
        return cls(vocab, w, b, classes)

    @classmethod
    def train_cached(cls, texts: Sequence[str], labels: Sequence[str]) -> NgramRouterModel:
        """`train` with the default settings, kept on disk per training set: the fit is deterministic,
        and repeating it (~0.3 s) in every one-question CLI process is start-up time for nothing."""
        from knowledge.startup_cache import cached_table

        def fit() -> tuple[dict[str, int], bytes, tuple[int, ...], bytes, list[str]]:
            m = cls.train(texts, labels)
            return m.vocab, m.weights.tobytes(), m.weights.shape, m.bias.tobytes(), m.labels

        key = "routing-v1\n" + "\n".join(
            f"{label}\t{text}" for text, label in zip(texts, labels, strict=True)
        )
        vocab, weights, shape, bias, classes = cached_table("router", key, fit)
        return cls(
            vocab,
            np.frombuffer(weights, dtype=np.float64).reshape(shape),
            np.frombuffer(bias, dtype=np.float64),
            list(classes),
        )

    def log_proba(self, text: str) -> dict[str, float]:
        """Log-probability per label for `text` (unknown n-grams are ignored)."""
        idx = [self.vocab[g] for g in char_ngrams(text) if g in self.vocab]
        logits = self.bias.copy()
        if idx:
            logits = logits + self.weights[idx].sum(axis=0) / math.sqrt(len(char_ngrams(text)) or 1)
        logits -= logits.max()
        log_z = math.log(float(np.exp(logits).sum()))
        return {label: float(logits[i] - log_z) for i, label in enumerate(self.labels)}


def read_examples(folder: Path | None) -> list[str]:
    """The questions in `<folder>/routing_examples.txt` (blank lines and # comments skipped)."""
    if folder is None or not (folder / EXAMPLES_FILE).is_file():
        return []
    lines = (folder / EXAMPLES_FILE).read_text(encoding="utf-8-sig").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def training_set(domains: Mapping[str, DomainSpec]) -> tuple[list[str], list[str]]:
    """(texts, labels): each domain's example questions and, so every domain has a class, its keywords."""
    texts: list[str] = []
    labels: list[str] = []
    for name, spec in domains.items():
        for text in [*read_examples(spec.folder), *sorted(_domain_keywords(spec))]:
            texts.append(text)
            labels.append(name)
    return texts, labels


class Router:
    """Routes questions between a fixed set of domains (build once; `route` is thread-safe)."""

    def __init__(
        self,
        domains: Mapping[str, DomainSpec],
        *,
        model: NgramRouterModel | None = None,
        keyword_weight: float = KEYWORD_WEIGHT,
        train: bool = True,
    ) -> None:
        if not domains:
            raise ValueError("no domains to route between")
        self.domains = dict(domains)
        self.keywords = {name: _domain_keywords(spec) for name, spec in self.domains.items()}
        self.keyword_weight = keyword_weight
        if model is None and train and len(self.domains) > 1:
            texts, labels = training_set(self.domains)
            if len(set(labels)) > 1:
                model = NgramRouterModel.train_cached(texts, labels)
        self.model = model

    def route(self, question: str, default: str | None = None) -> RouteDecision:
        """Pick the domain for `question`; no evidence at all → `default` (else the first domain)."""
        names = list(self.domains)
        default = default if default in self.domains else names[0]
        matched = {name: keyword_hits(question, self.keywords[name]) for name in names}
        scores = {name: keyword_score(hits) for name, hits in matched.items()}
        if len(names) == 1:
            return RouteDecision(
                domain=names[0], scores=scores, probabilities={names[0]: 1.0}, matched=matched
            )
        model_lp = self.model.log_proba(question) if self.model is not None else {}
        floor = min(model_lp.values()) if model_lp else 0.0
        logits = {n: model_lp.get(n, floor) + self.keyword_weight * scores[n] for n in names}
        top = max(logits.values())
        z = sum(math.exp(v - top) for v in logits.values())
        probs = {n: math.exp(v - top) / z for n, v in logits.items()}
        best = max(names, key=lambda n: (probs[n], n == default))
        no_keywords = not any(scores.values())
        model_unsure = not model_lp or max(math.exp(v) for v in model_lp.values()) < FALLBACK_BELOW
        if no_keywords and model_unsure:
            return RouteDecision(
                domain=default,
                confidence=round(probs[default], 4),
                scores=scores,
                probabilities={n: round(p, 4) for n, p in probs.items()},
                matched=matched,
                fallback=True,
            )
        return RouteDecision(
            domain=best,
            confidence=round(probs[best], 4),
            scores=scores,
            probabilities={n: round(p, 4) for n, p in probs.items()},
            matched=matched,
        )


_ROUTERS: dict[tuple, Router] = {}
_LOCK = threading.Lock()


def _cache_key(domains: Mapping[str, DomainSpec]) -> tuple:
    parts = []
    for name, spec in domains.items():
        examples = spec.folder / EXAMPLES_FILE if spec.folder is not None else None
        stamp = examples.stat().st_mtime_ns if examples is not None and examples.is_file() else 0
        parts.append((name, str(spec.folder), tuple(sorted(_domain_keywords(spec))), stamp))
    return tuple(parts)


def router_for(domains: Mapping[str, DomainSpec]) -> Router:
    """The (cached) router of this set of domains: trained once per process and configuration."""
    key = _cache_key(domains)
    with _LOCK:
        router = _ROUTERS.get(key)
        if router is None:
            router = _ROUTERS[key] = Router(domains)
        return router


def route(question: str, domains: Mapping[str, DomainSpec], default: str | None = None) -> RouteDecision:
    """Pick the domain for `question`; ties and no-evidence questions go to `default` (else the first domain)."""
    return router_for(domains).route(question, default)
