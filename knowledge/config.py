"""Configuration of the knowledge base (the `knowledge:` section of yiju.yaml).

The vector store is chosen by `store.kind` (a pydantic discriminated union); the embedder by
`embedder.kind`. Every model forbids unknown keys so a typo is an error naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ChromaLocalStore(BaseModel):
    """Embedded Chroma (`PersistentClient`) under `<home>/chroma` (or `path`)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["chroma_local"] = "chroma_local"
    path: Path | None = Field(default=None, description="Folder for the Chroma files; default <home>/chroma")


class ChromaHttpStore(BaseModel):
    """A Chroma server (`chroma run`), for users who outgrow one machine."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["chroma_http"] = "chroma_http"
    host: str = Field(default="127.0.0.1", description="Chroma server host")
    port: int = Field(default=8000, ge=1, le=65535, description="Chroma server port")
    ssl: bool = Field(default=False, description="Use https")
    timeout_s: float = Field(default=5.0, gt=0, description="Seconds to wait for the server")


StoreConfig = Annotated[ChromaLocalStore | ChromaHttpStore, Field(discriminator="kind")]


class StaticEmbedderConfig(BaseModel):
    """A sentence-transformers StaticEmbedding trained on the imported corpus (offline, no download)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["static_trained"] = "static_trained"
    dim: int = Field(default=256, ge=8, le=2048, description="Embedding dimension")
    min_count: int = Field(default=2, ge=1, description="Minimum token count for the vocabulary")
    max_vocab: int = Field(default=120_000, ge=100, description="Largest vocabulary (most frequent tokens)")
    epochs: int = Field(default=1, ge=1, description="Training epochs over the inverse-cloze pairs")
    batch_size: int = Field(default=256, ge=2, description="Training batch size (in-batch negatives)")
    max_pairs: int = Field(default=120_000, ge=10, description="Cap on inverse-cloze training pairs")
    max_seconds: float = Field(default=240.0, gt=0, description="Stop training after this many seconds")
    retrain_growth: float = Field(
        default=4.0,
        gt=1,
        description="Retrain (and re-embed) when the corpus grew by this factor since training",
    )
    seed: int = 13


class SentenceTransformerConfig(BaseModel):
    """Any local sentence-transformers model directory (e.g. a downloaded bge-small-zh)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["sentence_transformers"] = "sentence_transformers"
    path: Path = Field(description="Local model directory (nothing is downloaded)")
    batch_size: int = Field(default=64, ge=1)
    query_prefix: str = Field(default="", description="Text put before queries (e.g. a bge instruction)")


class NoEmbedderConfig(BaseModel):
    """No dense vectors: BM25 and exact look-up only (fastest; lower recall on paraphrased questions)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["none"] = "none"


EmbedderConfig = Annotated[
    StaticEmbedderConfig | SentenceTransformerConfig | NoEmbedderConfig, Field(discriminator="kind")
]


class RetrievalConfig(BaseModel):
    """How dense and sparse results are fused (defaults measured on ../shared/eval/legal_dev.jsonl)."""

    model_config = ConfigDict(extra="forbid")
    fusion: Literal["score", "rrf"] = Field(
        default="score",
        description="score: BM25/best BM25 + dense_weight * cosine (measured better); rrf: reciprocal rank fusion",
    )
    rrf_k: int = Field(default=60, ge=1, description="RRF constant")
    sparse_weight: float = Field(default=1.0, ge=0, description="Weight of BM25 in the fusion")
    dense_weight: float = Field(
        default=0.7, ge=0, description="Weight of the dense similarity (0 = BM25 only)"
    )
    candidates: int = Field(default=100, ge=5, description="Candidates taken from each ranking before fusion")
    bm25_k1: float = Field(default=1.2, gt=0)
    bm25_b: float = Field(default=0.75, ge=0, le=1)
    bigram_weight: float = Field(
        default=1.0,
        ge=0,
        description="Weight of a second BM25 over character bigrams (0 = off, no bigram index is built)",
    )
    query_tf: Literal["linear", "sqrt", "binary"] = Field(
        default="sqrt", description="How a word repeated in the question counts in BM25"
    )
    question_repeat: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Extra times the words of the asking (last) sentence of a multi-sentence question count",
    )

    ranker: Literal["learned", "fusion"] = Field(
        default="learned",
        description="learned: a linear model over candidate features (knowledge/ranker_weights.json, trained "
        "by bench/train_ranker.py; needs the bigram index, so bigram_weight 0 means fusion); fusion: the "
        "hand-set fusion above",
    )
    ranker_weights: Path | None = Field(
        default=None, description="Weights file for the learned ranker (default: the shipped one)"
    )
    heading_candidates: int = Field(
        default=50, ge=0, description="Candidates taken from the heading index (title + headings)"
    )


class KnowledgeConfig(BaseModel):
    """The knowledge section of yiju.yaml."""

    model_config = ConfigDict(extra="forbid")
    store: StoreConfig = Field(default_factory=ChromaLocalStore)
    embedder: EmbedderConfig = Field(default_factory=StaticEmbedderConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    index_worker: Literal["auto", "process", "thread"] = Field(
        default="auto",
        description="Where an import's parsing/tokenising/embedding and index builds run: auto = in a child "
        "process while questions are being answered (they then keep this interpreter), else here; process = "
        "always a child; thread = always here",
    )
    collection: str = Field(
        default="yiju_kb",
        pattern=r"^[a-zA-Z0-9._-]{3,40}$",
        description="Chroma collection name prefix (ASCII)",
    )
