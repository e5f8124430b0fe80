"""Embeddings behind one small interface.

* `StaticJiebaEmbedder` (default, kind `static_trained`): a sentence-transformers `StaticEmbedding` whose
  vocabulary is the jieba words of the imported corpus, trained on the corpus itself with inverse-cloze
  pairs (one sentence of an article as the query, the article as the document) and in-batch negatives
  (MultipleNegativesRankingLoss). Nothing is downloaded; it trains in a minute or two on 2 CPU cores.
* `SentenceTransformerEmbedder` (kind `sentence_transformers`): any local sentence-transformers directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

from knowledge.config import SentenceTransformerConfig, StaticEmbedderConfig
from knowledge.errors import EmbedderError

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")  # a hub look-up must never happen from here

UNK, PAD = "[UNK]", "[PAD]"
_SENT_SPLIT = re.compile(r"(?<=[。；！？])")


def token_ids(vocab: dict[str, int], toks: Sequence[str]) -> list[int]:
    """Vocabulary ids of jieba tokens; an unknown word falls back to its known characters, then to UNK.

    Training and encoding must map tokens identically, so both go through this one function."""
    out: list[int] = []
    for t in toks:
        j = vocab.get(t)
        if j is not None:
            out.append(j)
        else:
            out.extend(vocab[c] for c in t if c in vocab)
    return out or [vocab[UNK]]


class Embedder(Protocol):
    """What the knowledge base needs from an embedding model."""

    name: str  # identifies the model and its weights: vectors from different names never mix
    dim: int

    def embed_documents(
        self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None
    ) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (`tokens`: jieba tokens when already known)."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One L2-normalised vector for a question."""
        ...


def _normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class StaticJiebaEmbedder:
    """A trained StaticEmbedding over jieba words (out-of-vocabulary words fall back to their characters)."""

    def __init__(self, model_dir: Path) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        except Exception as exc:  # corrupt or partial directory
            raise EmbedderError(f"{model_dir}: cannot load the embedder ({exc})") from exc
        self.model_dir = model_dir
        self._module: Any = cast(Any, model[0])
        self._bag: Any = cast(Any, self._module.embedding)
        self.vocab: dict[str, int] = self._module.tokenizer.get_vocab()
        self.dim = int(self._bag.embedding_dim)
        info = json.loads((model_dir / "yiju_embedder.json").read_text(encoding="utf-8"))
        self.name = f"static-{info['weights_hash'][:10]}"
        self.info = info
        self._torch = torch
        self._lock = threading.Lock()

    def _ids(self, toks: Sequence[str]) -> list[int]:
        return token_ids(self.vocab, toks)

    def _encode_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        torch = self._torch
        ids: list[int] = []
        offsets: list[int] = []
        for toks in token_lists:
            offsets.append(len(ids))
            ids.extend(self._ids(toks))
        with self._lock, torch.inference_mode():
            out = self._bag(torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long))
        return _normalize(out.numpy())

    def embed_documents(
        self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None
    ) -> np.ndarray:
        """Vectors for documents (uses the given jieba tokens when present)."""
        from knowledge.textproc import tokenize

        toks = tokens if tokens is not None else [tokenize(t) for t in texts]
        return self._encode_tokens(toks) if len(toks) else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Vector for a question (question words removed, like BM25)."""
        from knowledge.textproc import tokenize_query

        return self._encode_tokens([tokenize_query(text)])[0]


class StaticVectors:
    """The trained static embedder's DOCUMENT vectors computed with numpy alone (no torch import: the index
    worker process, knowledge/worker.py, would otherwise spend seconds importing sentence-transformers).

    Same weights (checked against the weights hash the name comes from), same vocabulary and token-id rule
    as `StaticJiebaEmbedder`, and the same mean over a document's token vectors, so the vectors agree with
    it to float rounding (tests/knowledge/test_index_worker.py)."""

    def __init__(self, model_dir: Path) -> None:
        from safetensors.numpy import load_file

        info = json.loads((model_dir / "yiju_embedder.json").read_text(encoding="utf-8"))
        try:
            weights = load_file(str(model_dir / "model.safetensors"))["embedding.weight"]
            vocab = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
        except (OSError, KeyError, ValueError) as exc:
            raise EmbedderError(f"{model_dir}: cannot read the embedder's weights ({exc})") from exc
        if hashlib.sha256(weights.tobytes()).hexdigest() != info["weights_hash"]:
            raise EmbedderError(f"{model_dir}: weights do not match yiju_embedder.json")
        self.name = f"static-{info['weights_hash'][:10]}"
        self.dim = int(weights.shape[1])
        self.vocab: dict[str, int] = vocab
        self._weights = weights

    def embed_documents(
        self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None
    ) -> np.ndarray:
        """Vectors for documents (the given jieba tokens, else the texts tokenised)."""
        from knowledge.textproc import tokenize

        toks = tokens if tokens is not None else [tokenize(t) for t in texts]
        if not len(toks):
            return np.zeros((0, self.dim), np.float32)
        ids = [token_ids(self.vocab, t) for t in toks]
        starts = np.cumsum([0] + [len(i) for i in ids[:-1]])
        flat = np.fromiter((j for i in ids for j in i), dtype=np.int64)
        sums = np.add.reduceat(self._weights[flat], starts, axis=0)  # EmbeddingBag mode "mean"
        return _normalize(sums / np.array([len(i) for i in ids], dtype=np.float32)[:, None])


class SentenceTransformerEmbedder:
    """Any local sentence-transformers model directory (nothing is downloaded)."""

    def __init__(self, cfg: SentenceTransformerConfig) -> None:
        from sentence_transformers import SentenceTransformer

        path = Path(cfg.path).expanduser()
        if not path.is_dir():
            raise EmbedderError(f"{path}: sentence-transformers model directory not found")
        try:
            self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:
            raise EmbedderError(f"{path}: cannot load the model ({exc})") from exc
        self.cfg = cfg
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 0)
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
        self.name = f"st-{digest}"
        self._lock = threading.Lock()

    def embed_documents(
        self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None
    ) -> np.ndarray:
        """Vectors for documents."""
        with self._lock:
            vecs = self.model.encode(list(texts), batch_size=self.cfg.batch_size, convert_to_numpy=True)
        return _normalize(np.asarray(vecs, dtype=np.float32))

    def embed_query(self, text: str) -> np.ndarray:
        """Vector for a question (with the configured query prefix)."""
        with self._lock:
            vec = self.model.encode([self.cfg.query_prefix + text], convert_to_numpy=True)
        return _normalize(np.asarray(vec, dtype=np.float32))[0]


def _ict_pairs(docs: Sequence[Sequence[str]], titles: Sequence[str], rng: random.Random, cap: int):
    """Inverse-cloze pairs: (a sentence's tokens, the article's tokens with the law name in front)."""
    from knowledge.textproc import tokenize

    pairs: list[tuple[list[str], list[str]]] = []
    title_toks: dict[str, list[str]] = {}
    order = list(range(len(docs)))
    rng.shuffle(order)
    for i in order:
        toks = list(docs[i])
        if len(toks) < 4:
            continue
        tt = title_toks.get(titles[i])
        if tt is None:
            tt = title_toks[titles[i]] = tokenize(titles[i])
        # sentence boundaries are the tokens 。；？！ were stripped by tokenize: approximate with chunks
        n = len(toks)
        span = max(3, min(n // 2, rng.randint(6, 24)))
        start = rng.randrange(0, max(1, n - span))
        query = toks[start : start + span]
        # usually remove the query span from the document so the model learns context, not copying
        doc = toks[:start] + toks[start + span :] if rng.random() < 0.8 and n - span >= 4 else toks
        pairs.append((query, tt + doc))
        if len(pairs) >= cap:
            break
    return pairs


def train_static_embedder(
    docs: Sequence[Sequence[str]],
    titles: Sequence[str],
    out_dir: Path,
    cfg: StaticEmbedderConfig,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Train a StaticEmbedding on the tokenized corpus and save it as a sentence-transformers directory."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    if not docs:
        raise EmbedderError("cannot train an embedder on an empty corpus")
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    counts: Counter[str] = Counter()
    for toks in docs:
        counts.update(toks)
    for t in titles:
        counts.update([t])
    chars: set[str] = {c for t in counts for c in t}
    words = [w for w, c in counts.most_common(cfg.max_vocab) if c >= cfg.min_count and len(w) > 1]
    vocab_list = [UNK, PAD] + sorted(chars) + words
    vocab = {w: i for i, w in enumerate(dict.fromkeys(vocab_list))}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token=UNK))
    tokenizer.pre_tokenizer = WhitespaceSplit()
    module = StaticEmbedding(tokenizer, embedding_dim=cfg.dim)
    bag = module.embedding
    with torch.no_grad():
        bag.weight.normal_(0, 0.1)

    def ids_of(toks: Sequence[str]) -> list[int]:
        return token_ids(vocab, toks)

    def embed(batch: Sequence[Sequence[str]]):
        ids: list[int] = []
        offsets: list[int] = []
        for toks in batch:
            offsets.append(len(ids))
            ids.extend(ids_of(toks))
        out = bag(torch.tensor(ids), torch.tensor(offsets))
        return torch.nn.functional.normalize(out, dim=-1)

    pairs = _ict_pairs(docs, titles, rng, cfg.max_pairs)
    opt = torch.optim.Adam(bag.parameters(), lr=0.02)
    scale = 20.0  # MultipleNegativesRankingLoss default scale (cosine similarity * 20)
    steps_per_epoch = max(1, len(pairs) // cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    started = time.monotonic()
    step = 0
    for _ in range(cfg.epochs):
        rng.shuffle(pairs)
        for s in range(steps_per_epoch):
            batch = pairs[s * cfg.batch_size : (s + 1) * cfg.batch_size]
            if len(batch) < 2:
                continue
            q = embed([p[0] for p in batch])
            d = embed([p[1] for p in batch])
            logits = q @ d.T * scale
            labels = torch.arange(len(batch))
            loss = (
                torch.nn.functional.cross_entropy(logits, labels)
                + torch.nn.functional.cross_entropy(logits.T, labels)
            ) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if progress:
                progress(step, total)
            if time.monotonic() - started > cfg.max_seconds:
                break
        if time.monotonic() - started > cfg.max_seconds:
            break
    out_dir.mkdir(parents=True, exist_ok=True)
    model = SentenceTransformer(modules=[module], device="cpu")
    model.save(str(out_dir))
    weights_hash = hashlib.sha256(bag.weight.detach().numpy().tobytes()).hexdigest()
    info = {
        "kind": "static_trained",
        "weights_hash": weights_hash,
        "trained_on_articles": len(docs),
        "pairs": len(pairs),
        "steps": step,
        "seconds": round(time.monotonic() - started, 1),
        "vocab": len(vocab),
        "dim": cfg.dim,
    }
    (out_dir / "yiju_embedder.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return out_dir
