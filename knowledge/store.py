"""The Chroma vector store (embedded PersistentClient or a Chroma server), vectors only.

Chroma never embeds anything itself: collections are created with `embedding_function=None` and
every add/query passes vectors (its default function would download an ONNX model).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge.config import ChromaHttpStore, ChromaLocalStore
from knowledge.errors import StoreUnavailable


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


class ChromaStore:
    """One Chroma collection per embedder (its name carries the embedder id, ASCII only)."""

    def __init__(self, cfg: ChromaLocalStore | ChromaHttpStore, home: Path, prefix: str) -> None:
        import chromadb

        self.cfg = cfg
        self.prefix = prefix
        self.kind = cfg.kind
        try:
            if isinstance(cfg, ChromaHttpStore):
                self.client = chromadb.HttpClient(
                    host=cfg.host, port=cfg.port, ssl=cfg.ssl, settings=_settings()
                )
            else:
                path = Path(cfg.path) if cfg.path else home / "chroma"
                path.mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(path=str(path), settings=_settings())
            self.max_batch = int(self.client.get_max_batch_size())
        except Exception as exc:
            raise self._unavailable(exc) from exc
        self._collections: dict[str, object] = {}

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        if isinstance(self.cfg, ChromaHttpStore):
            where = (
                f"Chroma server at {'https' if self.cfg.ssl else 'http'}://{self.cfg.host}:{self.cfg.port}"
            )
            return StoreUnavailable(
                f"{where} is not reachable ({exc}); start it with `chroma run` or fix knowledge.store"
            )
        return StoreUnavailable(f"Chroma store failed: {exc}")

    def collection_name(self, embedder_name: str) -> str:
        """ASCII name for the collection holding this embedder's vectors."""
        return f"{self.prefix}_{embedder_name}"[:60]

    def _col(self, embedder_name: str):
        name = self.collection_name(embedder_name)
        col = self._collections.get(name)
        if col is None:
            try:
                col = self.client.get_or_create_collection(
                    name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
                )
            except Exception as exc:
                raise self._unavailable(exc) from exc
            self._collections[name] = col
        return col

    def upsert(
        self, embedder_name: str, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]
    ) -> None:
        """Add or replace vectors, in batches no larger than the server accepts."""
        col = self._col(embedder_name)
        try:
            for i in range(0, len(ids), self.max_batch):
                col.upsert(
                    ids=list(ids[i : i + self.max_batch]),
                    embeddings=vectors[i : i + self.max_batch].tolist(),
                    metadatas=list(metadatas[i : i + self.max_batch]),
                )
        except Exception as exc:
            raise self._wrap(exc) from exc

    def update_metadata(self, embedder_name: str, ids: Sequence[str], metadatas: Sequence[dict]) -> None:
        """Replace the metadata of stored vectors (same keys overwrite; the vectors stay)."""
        if not ids:
            return
        col = self._col(embedder_name)
        try:
            for i in range(0, len(ids), self.max_batch):
                col.update(
                    ids=list(ids[i : i + self.max_batch]), metadatas=list(metadatas[i : i + self.max_batch])
                )
        except Exception as exc:
            raise self._wrap(exc) from exc

    def delete(self, embedder_name: str, ids: Sequence[str]) -> None:
        """Remove vectors by id (missing ids are ignored)."""
        if not ids:
            return
        col = self._col(embedder_name)
        try:
            for i in range(0, len(ids), self.max_batch):
                col.delete(ids=list(ids[i : i + self.max_batch]))
        except Exception as exc:
            raise self._wrap(exc) from exc

    def count(self, embedder_name: str) -> int:
        """Number of vectors in this embedder's collection."""
        try:
            return int(self._col(embedder_name).count())
        except Exception as exc:
            raise self._wrap(exc) from exc

    def existing_ids(self, embedder_name: str, ids: Sequence[str]) -> set[str]:
        """Which of these ids have vectors."""
        col = self._col(embedder_name)
        found: set[str] = set()
        try:
            for i in range(0, len(ids), self.max_batch):
                found.update(col.get(ids=list(ids[i : i + self.max_batch]), include=[])["ids"])
        except Exception as exc:
            raise self._wrap(exc) from exc
        return found

    def query(
        self, embedder_name: str, vector: np.ndarray, n: int, where: dict | None = None
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the n nearest vectors, optionally filtered on metadata."""
        col = self._col(embedder_name)
        try:
            res = col.query(
                query_embeddings=[vector.tolist()], n_results=n, where=where or None, include=["distances"]
            )
        except Exception as exc:
            raise self._wrap(exc) from exc
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=False)]

    def vectors(self, embedder_name: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (ids without a vector are absent)."""
        if not ids:
            return {}
        col = self._col(embedder_name)
        try:
            res = col.get(ids=list(ids), include=["embeddings"])
        except Exception as exc:
            raise self._wrap(exc) from exc
        return {
            i: np.asarray(v, dtype=np.float32) for i, v in zip(res["ids"], res["embeddings"], strict=False)
        }

    def drop_other_collections(self, keep_embedder: str) -> None:
        """Delete collections of embedders no longer in use (after a retrain)."""
        keep = self.collection_name(keep_embedder)
        try:
            for col in self.client.list_collections():
                name = col if isinstance(col, str) else col.name
                if name.startswith(self.prefix + "_") and name != keep:
                    self.client.delete_collection(name)
                    self._collections.pop(name, None)
        except Exception as exc:
            raise self._wrap(exc) from exc

    def _wrap(self, exc: Exception) -> Exception:
        text = f"{type(exc).__name__}: {exc}"
        if isinstance(self.cfg, ChromaHttpStore) and any(
            k in text for k in ("Connect", "connect", "Timeout", "refused", "Could not connect")
        ):
            return self._unavailable(exc)
        return exc
