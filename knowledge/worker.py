"""Heavy knowledge work in a child process, so a serving process keeps its interpreter for questions.

Parsing, jieba tokenising, embedding and building the BM25 / bigram / heading indexes are pure Python or
hold the GIL for long stretches; in the serving process they slowed every question asked meanwhile
(issue 13: p95 13.9x idle during an import). A `ChildWork` runs them in one spawned, niced child process
per import or rebuild: the child parses files and builds the snapshot (writing the index caches on disk);
the parent keeps every write to the manifest and to Chroma (Chroma's embedded client is not process-safe:
only the parent's client ever touches the store) and only unpickles the results and swaps the snapshot.

The functions a child runs are module-level and take plain arguments. When no child can be started (or it
dies) the same function runs in this process, so a failed child costs speed, never correctness. The child is
started with multiprocessing's "spawn" (no fork of a process holding SQLite/Chroma handles and threads); as
with any spawn, a script used as the main module must keep its work under `if __name__ == "__main__":`
(`yiju`, `python -m assistant`, pytest and the bench scripts do).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from knowledge.errors import KnowledgeError

if TYPE_CHECKING:
    from knowledge.config import KnowledgeConfig
    from knowledge.loaders import LoadedDoc
    from knowledge.retrieval import Snapshot

log = logging.getLogger(__name__)

# The child yields the CPU to the serving process when both want the same core (2-core machines).
CHILD_NICE = 10
_child_embedders: dict[tuple, Any] = {}


def load_embedder(config: KnowledgeConfig, embedder_dir: Path):
    """The embedder `config` names (static: the one trained under `embedder_dir`), or None."""
    from knowledge.config import SentenceTransformerConfig, StaticEmbedderConfig

    cfg = config.embedder
    if isinstance(cfg, SentenceTransformerConfig):
        from knowledge.embedder import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(cfg)
    if isinstance(cfg, StaticEmbedderConfig) and (embedder_dir / "yiju_embedder.json").exists():
        from knowledge.embedder import StaticJiebaEmbedder

        return StaticJiebaEmbedder(embedder_dir)
    return None


def _child_init(nice: int) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core for the child; the other serves questions
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(var, "1")
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass


def _embedder_in_child(config: KnowledgeConfig, embedder_dir: Path):
    """The static embedder's numpy twin (knowledge.embedder.StaticVectors), loaded once per child and
    trained weights (a retrain writes a new yiju_embedder.json); None for other embedders: a transformer
    model is not worth loading twice, and torch leaves the interpreter while it computes anyway."""
    from knowledge.config import StaticEmbedderConfig
    from knowledge.embedder import StaticVectors

    info = embedder_dir / "yiju_embedder.json"
    if not isinstance(config.embedder, StaticEmbedderConfig) or not info.exists():
        return None
    key = (str(embedder_dir), info.stat().st_mtime_ns)
    if key not in _child_embedders:
        _child_embedders.clear()
        _child_embedders[key] = StaticVectors(embedder_dir)
    return _child_embedders[key]


# ---------------------------------------------------------------- work a child does
@dataclass
class ParsedFile:
    """One source file parsed and tokenised (and, when an embedder exists, embedded) by a child."""

    docs: list[LoadedDoc]
    tokens: list[list[list[str]]]  # per doc, per article
    vectors: dict[
        tuple[str, str], np.ndarray
    ]  # (passage id, stored tokens) -> vector (empty without embedder)
    embedder_name: str = ""
    error: tuple[str, int | None, str] | None = None  # (file, line, message) of a LoadError


def parse_file(
    path: Path, fmt: str, config: KnowledgeConfig | None = None, embedder_dir: Path | None = None
) -> ParsedFile:
    """Parse and tokenise one file; embed its articles when `config` is given and an embedder exists.

    A LoadError is returned (file, line, message), not raised, so it crosses the process boundary intact."""
    from knowledge.errors import LoadError
    from knowledge.manifest import UNDATED
    from knowledge.sources import load_file
    from knowledge.textproc import tokenize
    from knowledge.types import passage_id

    try:
        docs = load_file(path, fmt)
    except LoadError as exc:
        return ParsedFile([], [], {}, error=(exc.file, exc.line, exc.message))
    tokens = [[tokenize(f"{d.law} {a.chapter} {a.text}") for a in d.articles] for d in docs]
    vectors: dict[tuple[str, str], np.ndarray] = {}
    name = ""
    emb = _embedder_in_child(config, embedder_dir) if config is not None and embedder_dir else None
    if emb is not None:
        texts, stored, keys = [], [], []
        for d, dt in zip(docs, tokens, strict=True):
            for a, t in zip(d.articles, dt, strict=True):
                texts.append(a.text)
                stored.append(" ".join(t))  # the importer embeds a row's text with its STORED tokens
                keys.append((passage_id(d.law, d.version or UNDATED, a.key), stored[-1]))
        if texts:
            vecs = emb.embed_documents(texts, [s.split() for s in stored])
            vectors = dict(zip(keys, vecs, strict=True))
        name = emb.name
    return ParsedFile(docs, tokens, vectors, name)


def embed_documents(
    config: KnowledgeConfig, embedder_dir: Path, texts: list[str], tokens: list[list[str]]
) -> tuple[str, np.ndarray]:
    """(embedder name, vectors) for documents (re-embedding after a retrain, or rows parsed elsewhere)."""
    emb = _embedder_in_child(config, embedder_dir)
    if emb is None:
        raise RuntimeError("no embedder to embed with")
    return emb.name, emb.embed_documents(texts, tokens)


class _ManifestOnlyKB:
    """What knowledge.retrieval.build_snapshot reads, opened in the child: the manifest, the home (index
    caches) and the config. It never opens the vector store."""

    def __init__(self, home: Path, config: KnowledgeConfig, database: str = "") -> None:
        from knowledge.manifest import Manifest

        self.home = home
        self.config = config
        self.manifest = Manifest(home / "kb.sqlite", database=database or None, home=home)

    def _store_obj(self):
        raise RuntimeError("the vector store is only opened by the serving process")


def build_snapshot(home: Path, config: KnowledgeConfig, version: str, database: str = "") -> Snapshot:
    """The retrieval snapshot of the manifest at `version` (index caches written on disk as a side effect),
    with the dense vectors of every row when the embedder is the cheap static one (the serving process then
    needs no store round trip for them). Raises when the manifest moved on meanwhile."""
    from knowledge import retrieval
    from knowledge.sparse import atomic_write

    kb = _ManifestOnlyKB(home, config, database)  # database: the shared manifest's URL ("" = kb.sqlite)
    try:
        found = kb.manifest.get_meta("kb_version") or "empty"
        if found != version:
            raise StaleVersion(f"the manifest is at {found}, not {version}")
        # build_snapshot reads only home, config and manifest of the SearchableKB it is given
        snap = retrieval.build_snapshot(cast("retrieval.SearchableKB", kb), version)
        emb = _embedder_in_child(config, home / "embedder")
        if emb is not None and snap.ids and config.retrieval.dense_weight > 0:
            rows = kb.manifest.query("SELECT text, tokens FROM articles ORDER BY id")
            matrix = np.zeros((len(rows), emb.dim), dtype=np.float32)
            step = 2048
            for i in range(0, len(rows), step):
                chunk = rows[i : i + step]
                matrix[i : i + len(chunk)] = emb.embed_documents(
                    [r["text"] for r in chunk], [r["tokens"].split() for r in chunk]
                )
            snap.vectors[emb.name] = matrix
            cache = retrieval.vectors_cache_path(home, version, emb.name)
            atomic_write(cache, lambda f: np.save(f, matrix))
        if (kb.manifest.get_meta("kb_version") or "empty") != version:
            raise StaleVersion(f"the manifest moved on from {version} while its index was built")
        return snap
    finally:
        kb.manifest.close()


class _Deferred(Future):
    """Without a child: the work runs when its result is first asked for (in the asking thread)."""

    def __init__(self, fn, args: tuple) -> None:
        super().__init__()
        self._call = (fn, args)

    def result(self, timeout: float | None = None):
        if not self.done():
            fn, args = self._call
            try:
                self.set_result(fn(*args))
            except BaseException as exc:
                self.set_exception(exc)
        return super().result(timeout)


class StaleVersion(KnowledgeError):
    """The manifest changed while a child built its snapshot (the caller builds again)."""


def _child_pid() -> int:
    return os.getpid()


# ---------------------------------------------------------------- the parent's side
class ChildWork:
    """One spawned, niced child process for one import or one rebuild (a context manager).

    `submit`/`call` run a module-level function of this module in the child; when the child cannot be
    started or dies, the function runs in this process instead (logged)."""

    def __init__(self, isolated: bool = True, nice: int = CHILD_NICE) -> None:
        self.isolated = isolated  # False: no child, everything runs here when its result is asked for
        self._nice = nice
        self._pool: ProcessPoolExecutor | None = None
        self.broken = False
        self.pid: int | None = None  # the child's process id once started

    def _executor(self) -> ProcessPoolExecutor | None:
        if self._pool is None and not self.broken:
            try:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_child_init,
                    initargs=(self._nice,),
                )
                self.pid = self._pool.submit(_child_pid).result()
            except (OSError, BrokenProcessPool) as exc:
                self._give_up(exc)
        return self._pool

    def _give_up(self, exc: BaseException) -> None:
        log.warning("knowledge worker process unavailable (%s); doing the work in this process", exc)
        self.broken = True
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def submit(self, fn, *args) -> Future:
        """Run `fn(*args)` in the child (or here when there is no child); a Future of its result."""
        if not self.isolated:
            return _Deferred(fn, args)
        pool = self._executor()
        if pool is not None:
            try:
                return pool.submit(fn, *args)
            except (BrokenProcessPool, RuntimeError) as exc:
                self._give_up(exc)
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as exc:  # delivered by result(), as from a child
            done.set_exception(exc)
        return done

    def result(self, future: Future, fn, *args):
        """The future's result; when the child died on the way, `fn(*args)` computed here instead."""
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self._give_up(exc)
            return fn(*args)

    def call(self, fn, *args):
        """`fn(*args)` in the child, waiting for the result."""
        return self.result(self.submit(fn, *args), fn, *args)

    def close(self) -> None:
        """Stop the child (waits for it to exit)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ChildWork:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
