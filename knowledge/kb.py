"""The knowledge base facade: open, import (knowledge/ingest.py), retrieval (knowledge/retrieval.py),
exact look-up and curation (list, remove, stats).

Layout under the data directory: `kb.sqlite` (manifest: files, articles with verbatim text and jieba
tokens, hashes, versions), `chroma/` (vectors, one collection per embedder), `embedder/` (the static
embedding trained on the corpus), `index/` (the BM25 matrix cached per kb_version).
"""

from __future__ import annotations

import re
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge import retrieval
from knowledge.config import (
    KnowledgeConfig,
    NoEmbedderConfig,
    StaticEmbedderConfig,
)
from knowledge.curation import LawInfo, VersionInfo, list_laws
from knowledge.database import Database
from knowledge.errors import KnowledgeError, UnknownLaw
from knowledge.ingest import Importer, ImportIssue, ImportReport
from knowledge.loaders import short_law_name
from knowledge.manifest import ARTICLE_COLUMNS, UPSERT_LAW_SETTING, Manifest, row_to_passage
from knowledge.manifest import UNDATED as _UNDATED
from knowledge.numerals import CN_NUM_CHARS, cn_to_int
from knowledge.progress import progress_bar as _progress  # noqa: F401  (yiju eval retrieval imports it from here)
from knowledge.retrieval import Snapshot
from knowledge.serving import SnapshotHolder
from knowledge.types import Passage, article_key, article_no_of_key, is_passage_id
from knowledge.versions import DocVersion, in_force_on, today
from knowledge.worker import ChildWork, StaleVersion, load_embedder
from knowledge.worker import build_snapshot as build_snapshot_in_child

if TYPE_CHECKING:
    from knowledge.embedder import Embedder

STARTER_DIR = Path(__file__).parent / "starter"
_REF_RE = re.compile(rf"第\s*([{CN_NUM_CHARS}0-9０-９]+)\s*条(?:\s*之\s*([一二三四五六七八九十]+))?")


class KnowledgeBase:
    """Statutes and guideline passages with hybrid (dense + BM25) retrieval. Thread-safe."""

    def __init__(self, home: Path, config: KnowledgeConfig, database: str | Database | None = None) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.config = config
        # `database`: "" → kb.sqlite in `home`; a postgresql:// URL → the manifest every replica shares
        self.database = database if isinstance(database, str) else getattr(database, "url", "")
        self.manifest = Manifest(self.home / "kb.sqlite", database=database, home=self.home)
        self._write_lock = threading.RLock()  # one import/remove at a time
        self.serving = SnapshotHolder(self._build_snapshot, lambda: self.kb_version, self._write_lock)
        self._embedder: Embedder | None = None
        self._embedder_loaded = False
        self._store = None
        self._store_lock = threading.Lock()
        if self.manifest.migrations_applied:
            self._refresh_version()
        if self.manifest.get_meta("vector_meta_stale") == "1":
            self._refresh_vector_metadata()

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls, home: Path, config: KnowledgeConfig | None = None, database: str | Database | None = None
    ) -> KnowledgeBase:
        """Open (or create) the knowledge base under `home`; its manifest in `database` (yiju.yaml
        `database:`, a PostgreSQL URL shared by replicas) when given, else in `home`/kb.sqlite."""
        return cls(Path(home), config or KnowledgeConfig(), database)

    def close(self) -> None:
        """Release the SQLite connection (after a background index build, if one runs, has finished)."""
        self.serving.wait_idle(120)
        self.manifest.close()

    @property
    def kb_version(self) -> str:
        """A short hash that changes whenever the content changes (the audit trail records it)."""
        return self.manifest.get_meta("kb_version") or "empty"

    @property
    def embedder_dir(self) -> Path:
        """Where the corpus-trained static embedder is kept."""
        return self.home / "embedder"

    def _store_obj(self):
        """The Chroma store, connected on first use (raises StoreUnavailable when a server is down)."""
        with self._store_lock:
            if self._store is None:
                from knowledge.store import ChromaStore

                self._store = ChromaStore(self.config.store, self.home, self.config.collection)
            return self._store

    def embedder(self):
        """The embedder in use, or None (kind `none`, or static not trained yet). With a shared manifest
        the corpus-trained embedder is the one the database names (fetched when another replica trained it)."""
        if self.manifest.shared and isinstance(self.config.embedder, StaticEmbedderConfig):
            self._follow_shared_embedder()
        if not self._embedder_loaded:
            self._embedder = load_embedder(self.config, self.embedder_dir)
            self._embedder_loaded = True
        return self._embedder

    def _follow_shared_embedder(self) -> None:
        from knowledge import shared_embedder

        wanted = shared_embedder.shared_name(self.manifest)  # cached ~1 s
        loaded = self._embedder.name if self._embedder_loaded and self._embedder is not None else None
        if not wanted or wanted == loaded:
            return
        with self._store_lock:
            if wanted != shared_embedder.local_name(self.embedder_dir):
                shared_embedder.fetch(self.manifest, self.embedder_dir, wanted)
            self._embedder_loaded = False  # (re)load from the folder below

    def child_work(self) -> ChildWork:
        """Where an import's or a rebuild's heavy work runs (knowledge/worker.py): a child process while a
        snapshot serves questions (config `index_worker: auto`, or always with `process`), else this one."""
        mode = self.config.index_worker
        return ChildWork(isolated=mode == "process" or (mode == "auto" and self.serving.serving is not None))

    def _build_snapshot(self, child: ChildWork | None = None) -> Snapshot:
        """The snapshot of the manifest now (called by self.serving with the write lock held)."""
        version = self.kb_version
        work = child if child is not None else self.child_work()
        if not work.isolated:
            return retrieval.build_snapshot(self, version)
        try:
            with work if child is None else nullcontext():
                return work.call(build_snapshot_in_child, self.home, self.config, version, self.database)
        except StaleVersion:  # another process changed the manifest meanwhile: read it here
            return retrieval.build_snapshot(self, self.kb_version)

    def import_starter(self, progress: bool = False) -> ImportReport:
        """Import the packaged sample KB (labour law, social insurance, medical regulation; marked 示例)."""
        return self.import_path(STARTER_DIR, domain="auto", fmt="jsonl", strict=True, progress=progress)

    def import_path(
        self,
        path: Path,
        *,
        domain: str = "auto",
        fmt: str = "auto",
        strict: bool = False,
        progress: bool = True,
        origin: str = "official",
        uploader: str = "",
        source_name: str | None = None,
    ) -> ImportReport:
        """Import a file or folder (see knowledge.ingest.Importer.run): unchanged files/articles are skipped
        by hash, changed ones updated, each file written atomically; parse errors name file and line.

        `origin` is `official` for an operator's import of an official corpus (the CLI) and `local` for a
        curator's upload (the API and the knowledge screen), recorded with `uploader` on every passage.
        """
        importer = Importer(self, origin=origin, uploader=uploader)
        return importer.run(
            path, domain=domain, fmt=fmt, strict=strict, progress=progress, source_name=source_name
        )

    def _refresh_vector_metadata(self) -> None:
        """Rewrite every vector's metadata from the manifest (after a migration added fields to it)."""
        from knowledge.errors import StoreUnavailable
        from knowledge.ingest import vector_metadata

        emb = self.embedder()
        if emb is not None:
            rows = self.manifest.query("SELECT id, domain, domains, law, version, article_no FROM articles")
            try:
                self._store_obj().update_metadata(
                    emb.name, [r["id"] for r in rows], [vector_metadata(r) for r in rows]
                )
            except StoreUnavailable:
                return  # the server is down: try again on the next open
        self.manifest.set_meta("vector_meta_stale", "0")

    def _refresh_version(self) -> None:
        """Record the new content version; the snapshot in service is replaced by a rebuilt one (see
        knowledge.serving), never dropped, so questions do not wait."""
        self.manifest.set_meta("kb_version", self.manifest.compute_kb_version())

    @property
    def _snapshot(self) -> Snapshot | None:
        """The snapshot in service (None until the first question or import built one)."""
        return self.serving.serving

    # ------------------------------------------------------------------ curation
    def laws(
        self,
        domain: str | None = None,
        *,
        query: str | None = None,
        kind: str | None = None,
        as_of: str | None = None,
    ) -> list[LawInfo]:
        """Every law/guideline serving `domain` (all when None) whose name contains `query` (with or without
        《》/中华人民共和国), of `kind`: versions/editions with their status, effective dates, article counts,
        domains and origin (see knowledge.curation)."""
        return list_laws(self.manifest, domain=domain, query=query, kind=kind, as_of=as_of)

    def remove(self, law: str, version: str | None = None) -> int:
        """Remove a law (all versions, or one) from the store and the manifest; returns articles removed."""
        law = short_law_name(law)
        with self._write_lock:
            sql, params = "SELECT id, file FROM articles WHERE law=?", [law]
            if version is not None:
                sql += " AND version=?"
                params.append(version or _UNDATED)
            rows = self.manifest.query(sql, params)
            if not rows:
                return 0
            ids = [r["id"] for r in rows]
            files = sorted({r["file"] for r in rows})
            emb = self.embedder()
            if emb is not None:
                self._store_obj().delete(emb.name, ids)
            with self.manifest.transaction() as conn:
                conn.executemany("DELETE FROM articles WHERE id=?", [(i,) for i in ids])
                # forget the source files so importing them again restores what was removed
                conn.executemany("DELETE FROM files WHERE path=?", [(f,) for f in files])
            self.serving.forget(ids)  # filtered out of every result from now on
            self._refresh_version()
        self.serving.schedule()  # the new index is built in the background; the old one keeps serving
        return len(ids)

    def set_domains(self, law: str, domains: str | list[str] | None, *, by: str = "") -> list[str]:
        """Choose the domains a law (every version) serves, primary first — without re-importing it; the
        choice also holds for versions imported later. `None` goes back to the automatic domains.
        Returns the domains now in force; raises KnowledgeError for an unknown law or a bad domain name."""
        from knowledge.classify import parse_domains, resolve_domains
        from knowledge.ingest import utc_now, vector_metadata

        name = short_law_name(law)
        with self._write_lock:
            rows = self.manifest.query(
                "SELECT id, law_full, kind, domain, domains, law, version, article_no FROM articles WHERE law=?",
                (name,),
            )
            if not rows:
                raise UnknownLaw(f"no law named {name} in the knowledge base (see `yiju kb list`)")
            if domains is None:
                chosen = resolve_domains(rows[0]["law_full"] or name, rows[0]["kind"])
            else:
                try:
                    chosen = parse_domains(domains)
                except ValueError as exc:
                    raise KnowledgeError(str(exc)) from None
            joined = ",".join(chosen)
            relabelled = [{**dict(r), "domain": chosen[0], "domains": joined} for r in rows]
            emb = self.embedder()
            if emb is not None:
                self._store_obj().update_metadata(
                    emb.name, [r["id"] for r in relabelled], [vector_metadata(r) for r in relabelled]
                )
            with self.manifest.transaction() as conn:
                if domains is None:
                    conn.execute("DELETE FROM law_settings WHERE law=?", (name,))
                else:
                    conn.execute(UPSERT_LAW_SETTING, (name, joined, by, utc_now()))
                conn.execute("UPDATE articles SET domain=?, domains=? WHERE law=?", (chosen[0], joined, name))
            self._refresh_version()
            self.serving.rebuild_now()  # in this thread: questions keep the old snapshot meanwhile
            return chosen

    def stats(self) -> dict:
        """Counts and identity of the knowledge base."""
        by_domain = {
            r["domain"]: r["n"]
            for r in self.manifest.query("SELECT domain, COUNT(*) AS n FROM articles GROUP BY domain")
        }
        laws = self.manifest.query("SELECT COUNT(DISTINCT law) AS n FROM articles")[0]["n"]
        files = self.manifest.query("SELECT COUNT(*) AS n FROM files")[0]["n"]
        emb = self.embedder()
        return {
            "laws": laws,
            "articles": sum(by_domain.values()),
            "files": files,
            "by_domain": by_domain,
            "store": self.config.store.kind,
            "embedder": emb.name if emb is not None else "none",
            "kb_version": self.kb_version,
            "home": str(self.home),
        }

    # ------------------------------------------------------------------ retrieval
    def snapshot(self) -> Snapshot:
        """The retrieval snapshot in service (built on first use; after changes a new one is built in the
        background while this one keeps answering — knowledge.serving)."""
        return self.serving.current()

    _snap = snapshot  # the name tests and benches used before the split

    def find_law(self, text: str, before: int | None = None) -> str | None:
        """The law named in `text`: the longest known short name ending right before `before` (an article
        reference), else the longest contained anywhere. Handles glued prefixes such as 社会法职业病防治法."""
        snap = self.snapshot()
        if before is not None:
            head = text[:before].rstrip(" 》>的之")
            for name in snap.law_names:
                if head.endswith(name):
                    return name
        for name in snap.law_names:
            if len(name) >= 2 and name in text:
                return name
        return None

    def parse_reference(self, query: str) -> tuple[str, int] | None:
        """('劳动合同法', 47) for '劳动合同法第四十七条…', '民法典第1165条', '社会法职业病防治法第三十二条…'."""
        ref = self.parse_reference_key(query)
        no = article_no_of_key(ref[1]) if ref else None
        return (ref[0], no) if ref and no is not None else None

    def parse_reference_key(self, query: str) -> tuple[str, str] | None:
        """(law, article key): ('刑法', '120-1') for '刑法第一百二十条之一', ('劳动合同法', '47') for
        '劳动合同法第四十七条' — the key `lookup(..., key=)` and passage ids use."""
        for m in _REF_RE.finditer(query):
            try:
                no = cn_to_int(m.group(1))
                sub = cn_to_int(m.group(2)) if m.group(2) else 0
            except ValueError:
                continue
            law = self.find_law(query, m.start())
            if law:
                return law, article_key(no, sub)
        return None

    def resolve(self, text: str) -> Passage | None:
        """The stored passage a reviewer or curator names: a passage id (`law@version#key`, any key such as
        `120-1`) or a reference such as 劳动合同法第四十七条 / 刑法第一百二十条之一 (the version in force)."""
        text = (text or "").strip()
        if is_passage_id(text):
            return self.passages([text]).get(text)
        ref = self.parse_reference_key(text)
        if ref is None:
            return None
        no = article_no_of_key(ref[1])
        return self.lookup(ref[0], no, key=ref[1]) if no is not None else None

    def lookup(
        self,
        law: str,
        article_no: int,
        *,
        version: str | None = None,
        as_of: str | None = None,
        key: str | None = None,
    ) -> Passage | None:
        """The article `article_no` of `law`: of the given version, else of the newest version in force
        today (or on `as_of`). Versions not yet in force, and a curator's copies of a law whose official text
        is stored, are returned only when asked for by version (knowledge.versions). `key` ('120-1' for
        第一百二十条之一) asks for that exact article; without it the plain article is preferred."""
        name = short_law_name(law)
        rows = self.manifest.query(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE law=? AND article_no=? ORDER BY version DESC, akey",
            (name, int(article_no)),
        )
        if version is not None:
            rows = [r for r in rows if r["version"] == (version or _UNDATED)]
            if as_of:
                rows = [r for r in rows if in_force_on(_doc_version(r), as_of)]
        else:
            official = bool(
                self.manifest.query(
                    "SELECT 1 FROM articles WHERE law=? AND origin='official' LIMIT 1", (name,)
                )
            )
            when = as_of or today()
            rows = [
                r
                for r in rows
                if in_force_on(_doc_version(r), when) and (not official or r["origin"] == "official")
            ]
        if key is not None:
            rows = [r for r in rows if r["akey"] == key]
        if not rows:
            return None
        # prefer the plain article over 第X条之一 and the newest dated version over undated ones
        rows.sort(
            key=lambda r: (
                r["akey"] != str(article_no),
                r["version"] == _UNDATED,
                [-ord(c) for c in r["version"]],
            )
        )
        return row_to_passage(rows[0], score=1.0)

    def passages(self, ids: list[str]) -> dict[str, Passage]:
        """Stored passages by id (ids not in the knowledge base are absent)."""
        return {i: row_to_passage(r) for i, r in self.manifest.articles_by_ids(ids).items()}

    def lookup_failure(
        self, law: str, article_no: int, *, version: str | None = None, as_of: str | None = None
    ) -> str:
        """Why `lookup(law, article_no, version=…, as_of=…)` found nothing, as user text: the law is unknown,
        the version is not stored, no version was in force on the date, or that version lacks the article."""
        name = short_law_name(law)
        stored = sorted(
            r["version"]
            for r in self.manifest.query("SELECT DISTINCT version FROM articles WHERE law=?", (name,))
        )
        if not stored:
            return f"no law named {name} in the knowledge base (see `yiju kb list`)"
        shown = ", ".join(stored)
        if version is not None and (version or _UNDATED) not in stored:
            return f"{name} has no version {version or _UNDATED} (versions: {shown})"
        if version is None and as_of:
            in_force = [v for v in stored if v == _UNDATED or v <= as_of]
            if not in_force:
                return f"no version of {name} in force on {as_of} (versions: {shown})"
            dated = [v for v in in_force if v != _UNDATED]
            version = dated[-1] if dated else _UNDATED
            return f"{name} has no article {article_no} in the version in force on {as_of} ({version})"
        if version is not None:
            return f"{name} has no article {article_no} in version {version or _UNDATED}"
        return f"{name} has no article {article_no} (versions: {shown})"

    def retrieve(
        self,
        query: str,
        *,
        domain: str | None = None,
        k: int = 5,
        law: str | None = None,
        as_of: str | None = None,
        version: str | None = None,
        all_versions: bool = False,
        profile: str | None = None,
    ) -> list[Passage]:
        """Hybrid retrieval (see knowledge.retrieval.retrieve): an exact reference first, then fused BM25
        (words and character bigrams) and dense results; filters domain, law, version or `as_of` date;
        `profile` names the learned ranker's profile (default: the domain's). Passages removed since the
        snapshot in service was built are never returned."""
        removed = self.serving.removed()
        found = retrieval.retrieve(
            self,
            query,
            domain=domain,
            k=k,
            law=law,
            as_of=as_of,
            version=version,
            all_versions=all_versions,
            profile=profile,
            exclude=removed,  # masked before ranking: k results, none of them removed
        )
        if removed:  # and never returned, whatever the ranking did
            found = [p for p in found if p.id not in removed]
        return found[:k]

    def as_langchain_retriever(self, domain: str | None = None, k: int = 5):
        """This knowledge base as a LangChain `BaseRetriever` (Documents carry the Passage as metadata)."""
        from knowledge.lc import KBRetriever

        return KBRetriever(kb=self, domain=domain, k=k)


def _doc_version(row) -> DocVersion:
    return DocVersion(
        law=row["law"],
        version=row["version"],
        effective_date=row["effective_date"] or "",
        origin=row["origin"] or "official",
        family=row["family"] or "",
        kind=row["kind"] or "",
    )


def open_kb(home: Path, config: KnowledgeConfig | None = None) -> KnowledgeBase:
    """Shorthand for KnowledgeBase.open."""
    return KnowledgeBase.open(home, config)


__all__ = [
    "ImportIssue",
    "ImportReport",
    "KnowledgeBase",
    "LawInfo",
    "VersionInfo",
    "NoEmbedderConfig",
    "StaticEmbedderConfig",
    "open_kb",
]
