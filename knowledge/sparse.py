"""BM25 over jieba tokens as one scipy sparse matrix: a query is a sum of a few columns (ms on 60k articles)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
from scipy import sparse


class BM25Index:
    """Okapi BM25 with weights precomputed into a CSC matrix (docs x terms)."""

    def __init__(self, matrix: sparse.csc_matrix, vocab: dict[str, int]) -> None:
        self.matrix = matrix
        self.vocab = vocab

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> BM25Index:
        """Index tokenized documents."""
        vocab: dict[str, int] = {}
        indptr = [0]
        indices: list[int] = []
        data: list[int] = []
        for toks in docs:
            counts: dict[int, int] = {}
            for t in toks:
                j = vocab.setdefault(t, len(vocab))
                counts[j] = counts.get(j, 0) + 1
            indices.extend(counts.keys())
            data.extend(counts.values())
            indptr.append(len(indices))
        n = len(docs)
        tf = sparse.csr_matrix(
            (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
            shape=(n, max(len(vocab), 1)),
        )
        dl = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = float(dl.mean()) if n else 1.0
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float32)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        # per-row length normalisation, applied to the stored tf values in place
        norm = (k1 * (1 - b + b * dl / max(avgdl, 1e-9))).astype(np.float32)
        rows = np.repeat(np.arange(n), np.diff(tf.indptr))
        tfv = tf.data
        tf.data = (tfv * (k1 + 1) / (tfv + norm[rows])) * idf[tf.indices]
        return cls(tf.tocsc(), vocab)

    def scores(self, query_tokens: Sequence[str], query_tf: str = "linear") -> np.ndarray:
        """BM25 score of every document for the query (0 where no term matches).

        `query_tf` weighs a term repeated in the query: "linear" (each repeat counts), "sqrt" (damped:
        a scenario question repeats its subject, and linear weighting lets that one word dominate),
        or "binary"."""
        counts: dict[int, int] = {}
        for t in query_tokens:
            j = self.vocab.get(t)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(self.matrix.shape[0], dtype=np.float32)
        cols = list(counts)
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(cols))
        if query_tf == "sqrt":
            tf = np.sqrt(tf)
        elif query_tf == "binary":
            tf = np.ones_like(tf)
        elif query_tf != "linear":
            raise ValueError(f"query_tf must be linear, sqrt or binary, not {query_tf!r}")
        return np.asarray(self.matrix[:, cols] @ tf).ravel()

    def save(self, path: Path) -> None:
        """Write the index next to `path` (.vocab.json, then .npz), each file atomically.

        Readers test for the .npz and then load both, and a removal's background rebuild can write
        the cache while another process (or CLI call) reads it: each file appears whole or not at all."""
        vocab = json.dumps(self.vocab, ensure_ascii=False).encode("utf-8")
        atomic_write(path.with_suffix(".vocab.json"), lambda f: f.write(vocab))
        atomic_write(path.with_suffix(".npz"), lambda f: sparse.save_npz(f, self.matrix.tocsc()))

    @classmethod
    def load(cls, path: Path) -> BM25Index:
        """Read an index written by `save`."""
        matrix = sparse.load_npz(path.with_suffix(".npz")).tocsc()
        vocab = json.loads(path.with_suffix(".vocab.json").read_text(encoding="utf-8"))
        return cls(matrix, vocab)


def atomic_write(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write `target` through a temporary file in the same folder and rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
