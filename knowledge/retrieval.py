"""Retrieval over the knowledge base: the in-memory index snapshot and hybrid (sparse + dense) fusion.

Owner: engineer "retrieval" (what a snapshot holds and how a question is ranked). When a snapshot is
built and swapped in is the KnowledgeBase's business (knowledge/kb.py); this module only reads the
manifest, the on-disk BM25 caches and the vector store through the `SearchableKB` it is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from knowledge.config import KnowledgeConfig
from knowledge.loaders import short_law_name
from knowledge.manifest import UNDATED as _UNDATED
from knowledge.manifest import Manifest, row_to_passage, split_domains
from knowledge.sparse import BM25Index
from knowledge.types import Passage, article_no_of_key
from knowledge.versions import VersionIndex, version_index


class SearchableKB(Protocol):
    """What retrieval needs from the knowledge base (KnowledgeBase implements it)."""

    home: Path
    config: KnowledgeConfig
    manifest: Manifest

    def snapshot(self) -> Snapshot: ...
    def embedder(self): ...
    def _store_obj(self): ...
    def parse_reference_key(self, query: str) -> tuple[str, str] | None: ...
    def lookup(
        self,
        law: str,
        article_no: int,
        *,
        version: str | None = None,
        as_of: str | None = None,
        key: str | None = None,
    ) -> Passage | None: ...


@dataclass
class Snapshot:
    """Immutable in-memory view used by retrieval; replaced (never mutated) when content changes."""

    kb_version: str
    ids: list[str]
    pos: dict[str, int]
    law_idx: np.ndarray
    laws: list[str]
    versions: np.ndarray  # version strings ('' for undated sorts first)
    domains: np.ndarray
    current: np.ndarray  # newest version of its law
    bm25: BM25Index
    law_names: list[str]  # longest first
    bigram: BM25Index | None = None  # BM25 over character bigrams (None when bigram_weight is 0)
    # domain -> rows that serve it (a law can serve several)
    domain_masks: dict[str, np.ndarray] | None = None
    # which rows are served on a date (versions in force, editions, official before local): knowledge.versions
    version_index: VersionIndex | None = None
    rank_data: RankData | None = None  # what the learned ranker needs (None when ranker is "fusion")
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # embedder name -> rows' vectors (lazy)
    # (embedder, rows) -> those rows' vectors, contiguous: a domain's rows are searched on every question, and
    # gathering them from the full matrix cost more than the whole ranking (~30 ms for the medical domain)
    dense_subsets: dict[tuple[str, int, int], np.ndarray] = field(default_factory=dict)


@dataclass
class RankData:
    """Per-passage arrays and the heading index the learned ranker reads (built with the snapshot)."""

    heading: BM25Index  # BM25 over bigrams of law title + chapter / guideline heading paths
    kinds: np.ndarray  # index into ranking.KINDS
    log_length: np.ndarray
    purpose: np.ndarray
    bigram_csr: object  # the bigram matrix by rows (coverage features)
    bigram_idf: np.ndarray


def build_snapshot(kb: SearchableKB, version: str) -> Snapshot:
    """The in-memory retrieval view of the manifest at `version` (BM25 indexes cached on disk per version)."""
    from knowledge.sparse import BM25Index

    rows = kb.manifest.query(
        "SELECT id, law, version, domain, domains, effective_date, origin, family, kind FROM articles ORDER BY id"
    )
    ids = [r["id"] for r in rows]
    laws = sorted({r["law"] for r in rows})
    law_pos = {name: i for i, name in enumerate(laws)}
    law_idx = np.array([law_pos[r["law"]] for r in rows], dtype=np.int32)
    versions = np.array([("" if r["version"] == _UNDATED else r["version"]) for r in rows], dtype=object)
    domains = np.array([r["domain"] for r in rows], dtype=object)
    domain_masks: dict[str, np.ndarray] = {}
    for n, r in enumerate(rows):
        for d in split_domains(r["domains"]) or [r["domain"]]:
            domain_masks.setdefault(d, np.zeros(len(rows), dtype=bool))[n] = True
    vindex = version_index(rows)
    current = vindex.served()  # newest version in force per law, newest edition per guideline family
    cache = kb.home / "index" / f"bm25-{version}"
    rc = kb.config.retrieval
    if cache.with_suffix(".npz").exists():
        bm25 = BM25Index.load(cache)
    else:
        tok_rows = kb.manifest.query("SELECT tokens FROM articles ORDER BY id")
        bm25 = BM25Index.build([r["tokens"].split() for r in tok_rows], k1=rc.bm25_k1, b=rc.bm25_b)
        if ids:
            drop_other_versions(cache.parent, version)
            cache.parent.mkdir(parents=True, exist_ok=True)
            bm25.save(cache)
    names = sorted(laws, key=len, reverse=True)
    bigram = bigram_index(kb, version, len(ids)) if rc.bigram_weight > 0 else None
    # the learned ranker reads the bigram index (coverage features): bigram_weight 0 means the fusion ranker
    rank_data = build_rank_data(kb, version, bigram) if rc.ranker == "learned" and bigram and ids else None
    return Snapshot(
        version,
        ids,
        {i: n for n, i in enumerate(ids)},
        law_idx,
        laws,
        versions,
        domains,
        current,
        bm25,
        names,
        bigram,
        domain_masks,
        vindex,
        rank_data,
    )


def drop_other_versions(folder: Path, version: str) -> None:
    """Remove the cached indexes of other kb_versions from `folder`, leaving this version's and any file still
    being written (atomic_write's hidden .tmp): removing the whole folder pulled a concurrent build's temporary
    file from under it (FileNotFoundError on its rename, seen in a test run)."""
    if not folder.is_dir():
        return
    for f in folder.iterdir():
        if f.is_file() and version not in f.name and not f.name.startswith("."):
            f.unlink(missing_ok=True)


def bigram_index(kb: SearchableKB, version: str, n: int):
    """BM25 over character bigrams of law name + chapter + text (cached on disk per kb_version)."""
    from knowledge.sparse import BM25Index
    from knowledge.textproc import char_bigrams

    cache = kb.home / "index" / f"bigram-{version}"
    if cache.with_suffix(".npz").exists():
        return BM25Index.load(cache)
    rc = kb.config.retrieval
    rows = kb.manifest.query("SELECT law, chapter, text FROM articles ORDER BY id")
    index = BM25Index.build(
        [char_bigrams(f"{r['law']} {r['chapter'] or ''} {r['text']}") for r in rows],
        k1=rc.bm25_k1,
        b=rc.bm25_b,
    )
    if n:
        cache.parent.mkdir(parents=True, exist_ok=True)
        index.save(cache)
    return index


def _columns(manifest: Manifest) -> set[str]:
    return manifest.columns("articles")


def build_rank_data(kb: SearchableKB, version: str, bigram) -> RankData:
    """Heading index (cached on disk per kb_version) and per-passage arrays for the learned ranker.

    A passage's headings are its chapter for a statute and every heading path it covers for a guideline
    (`sections`), so a question naming a disease and a section finds it even when the body does not
    repeat the heading."""
    from knowledge.ranking import is_purpose_clause, kind_index
    from knowledge.sparse import BM25Index
    from knowledge.textproc import char_bigrams

    cols = _columns(kb.manifest)
    extra = [c for c in ("kind", "sections") if c in cols]
    rows = kb.manifest.query(
        f"SELECT law, chapter, text{''.join(', ' + c for c in extra)} FROM articles ORDER BY id"
    )
    cache = kb.home / "index" / f"heading-{version}"
    if cache.with_suffix(".npz").exists():
        heading = BM25Index.load(cache)
    else:

        def headings(r) -> str:
            many = r["sections"] if "sections" in extra and r["sections"] else ""
            if many.startswith("["):
                many = " ; ".join(json.loads(many))
            return f"{r['law']} {r['chapter'] or ''} {many}"

        heading = BM25Index.build([char_bigrams(headings(r)) or ["∅"] for r in rows])
        cache.parent.mkdir(parents=True, exist_ok=True)
        heading.save(cache)
    kinds = np.array([kind_index(r["kind"] if "kind" in extra else "") for r in rows], dtype=np.int64)
    log_length = np.log1p(np.array([len(r["text"]) for r in rows], dtype=np.float32))
    purpose = np.array([is_purpose_clause(r["text"]) for r in rows], dtype=bool)
    csc = bigram.matrix
    n = csc.shape[0]
    df = np.diff(csc.indptr).astype(np.float32)
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    return RankData(heading, kinds, log_length, purpose, csc.tocsr(), idf)


def passage_mask(
    snap: Snapshot,
    domain: str | None,
    law: str | None,
    as_of: str | None,
    version: str | None,
    every: bool = False,
) -> np.ndarray:
    """Which snapshot rows a search may return (version/date, domain and law filters)."""
    if every:
        mask = np.ones(len(snap.ids), dtype=bool)
    elif as_of and snap.version_index is not None:
        mask = snap.version_index.served(as_of)
    elif as_of:
        # per law, the newest version on or before the date (undated versions always qualify)
        ok = snap.versions <= as_of
        best: dict[int, str] = {}
        for li, v, good in zip(snap.law_idx.tolist(), snap.versions.tolist(), ok.tolist(), strict=True):
            if good and v >= best.get(li, ""):
                best[li] = v
        mask = np.array(
            [best.get(li) == v for li, v in zip(snap.law_idx.tolist(), snap.versions.tolist(), strict=True)],
            dtype=bool,
        )
    elif version:
        mask = snap.versions == version
    else:
        mask = snap.current.copy()
    if domain:
        if snap.domain_masks is None:
            mask &= snap.domains == domain
        else:
            mask &= snap.domain_masks.get(domain, np.zeros(len(snap.ids), dtype=bool))
    if law:
        name = short_law_name(law)
        li = snap.laws.index(name) if name in snap.laws else -1
        mask &= snap.law_idx == li
    return mask


def retrieve(
    kb: SearchableKB,
    query: str,
    *,
    domain: str | None = None,
    k: int = 5,
    law: str | None = None,
    as_of: str | None = None,
    version: str | None = None,
    all_versions: bool = False,
    profile: str | None = None,
    exclude: frozenset[str] = frozenset(),
) -> list[Passage]:
    """Hybrid retrieval: BM25 over jieba words + BM25 over character bigrams + dense vectors, fused
    (config `retrieval.fusion`: normalised scores by default, or RRF). The question is cleaned first
    (placeholder names, question templates and question words dropped; see knowledge.textproc).

    An exact reference in the query ('劳动合同法第四十七条') puts that article first. Filters: domain,
    law, a version, or `as_of` (the version in force on that date); otherwise the newest version
    (`all_versions=True` searches every stored version, e.g. for question sets built on older texts);
    `exclude` names ids never to return (removed since the snapshot was built; masked before ranking).

    With `retrieval.ranker: learned` (the default) the candidates of all searches are ranked by the
    learned linear model of `profile` (default: the domain's, else `legal`; see knowledge.ranking).
    """
    from knowledge.textproc import query_bigrams, query_terms

    snap = kb.snapshot()
    if not snap.ids or k <= 0:
        return []
    rc = kb.config.retrieval
    out: list[Passage] = []
    ref = kb.parse_reference_key(query)
    ref_no = article_no_of_key(ref[1]) if ref else None
    if ref and ref_no is not None and (law is None or short_law_name(law) == ref[0]):
        hit = kb.lookup(ref[0], ref_no, version=version, as_of=as_of, key=ref[1])
        if hit is not None and (domain is None or domain in hit.domains):
            out.append(hit)
    mask = passage_mask(snap, domain, law, as_of, version)
    if all_versions and not (as_of or version):
        mask = passage_mask(snap, domain, law, None, None, every=True)
    if exclude:  # ids removed since this snapshot was built (knowledge.serving tombstones)
        mask = mask.copy()
        mask[[snap.pos[i] for i in exclude if i in snap.pos]] = False
    if not mask.any():
        return out[:k]
    n_cand = max(rc.candidates, k)
    words, grams = query_terms(query, rc.question_repeat)
    scores = snap.bm25.scores(words, rc.query_tf)
    _, top = top_positive(scores, mask, n_cand)
    # character-bigram BM25: catches matches that jieba segments differently in question and statute
    bi_scores = None
    bi_top = np.zeros(0, dtype=np.int64)
    if snap.bigram is not None:
        bi_scores = snap.bigram.scores(grams, rc.query_tf)
        _, bi_top = top_positive(bi_scores, mask, n_cand)
    profile = ranker_profile(kb, profile or domain) if snap.rank_data is not None else None
    head_scores: np.ndarray | None = None
    head_top = np.zeros(0, dtype=np.int64)
    if profile is not None and snap.rank_data is not None:
        # the heading field: law title + chapter / guideline heading paths
        head_scores = snap.rank_data.heading.scores(query_bigrams(query), "binary")
        _, head_top = top_positive(head_scores, mask, rc.heading_candidates)
    sparse_cands = list(dict.fromkeys(top.tolist() + bi_top.tolist() + head_top.tolist()))
    dense: dict[int, float] = {}
    emb = kb.embedder()
    if emb is not None and rc.dense_weight > 0 and profile is not None:
        # Cosines from the in-memory copy of the vectors. A filtered store query is slow (the domain filter
        # alone cost ~70 ms on the full corpus), so a filtered search (a domain, a law) is an exact product
        # over its own rows; an unfiltered one asks the store's index, then fills in the sparse candidates.
        qvec = emb.embed_query(query)
        vectors = dense_vectors(kb, snap, emb)
        rows_in = np.flatnonzero(mask)
        if len(rows_in) <= len(mask) // 4:
            sims = dense_subset(snap, emb.name, vectors, rows_in) @ qvec.astype(np.float32, copy=False)
            nearest = np.argpartition(-sims, n_cand)[:n_cand] if len(sims) > n_cand else np.arange(len(sims))
            dense = dict(zip(rows_in[nearest].tolist(), sims[nearest].tolist(), strict=True))
        else:
            for aid, sim in kb._store_obj().query(emb.name, qvec, n_cand, None):
                pos = snap.pos.get(aid)
                if pos is not None and mask[pos]:
                    dense[pos] = sim
        missing = np.array([p for p in sparse_cands if p not in dense], dtype=np.int64)
        if len(missing):
            dense.update(zip(missing.tolist(), (vectors[missing] @ qvec).tolist(), strict=True))
    elif emb is not None and rc.dense_weight > 0:
        conds: list[dict[str, Any]] = [{"domains": {"$contains": domain}}] if domain else []
        if law:
            conds.append({"law": short_law_name(law)})
        where = conds[0] if len(conds) == 1 else ({"$and": conds} if conds else None)
        qvec = emb.embed_query(query)
        store = kb._store_obj()
        for aid, sim in store.query(emb.name, qvec, n_cand, where):
            pos = snap.pos.get(aid)
            if pos is not None and mask[pos]:
                dense[pos] = sim
        if rc.fusion == "score":
            # exact similarities for BM25 candidates the dense search did not return
            missing_ids = [snap.ids[p] for p in sparse_cands if p not in dense]
            for aid, vec in store.vectors(emb.name, missing_ids).items():
                dense[snap.pos[aid]] = float(np.dot(vec, qvec))
    fused: dict[int, float] = {}
    if profile is not None:
        assert head_scores is not None  # set above whenever a profile is used
        fused = learned_scores(
            snap, profile, query, mask, sparse_cands, dense, scores, bi_scores, head_scores
        )
    elif rc.fusion == "rrf":
        for rank, pos in enumerate(top.tolist()):
            fused[pos] = fused.get(pos, 0.0) + rc.sparse_weight / (rc.rrf_k + rank + 1)
        for rank, pos in enumerate(bi_top.tolist()):
            fused[pos] = fused.get(pos, 0.0) + rc.bigram_weight / (rc.rrf_k + rank + 1)
        for rank, pos in enumerate(sorted(dense, key=lambda p: -dense[p])):
            fused[pos] = fused.get(pos, 0.0) + rc.dense_weight / (rc.rrf_k + rank + 1)
    else:
        # measured on legal_dev (lawbench-3-2): each BM25 normalised by its best score + w * cosine
        # beats RRF
        top_score = float(scores[top[0]]) if len(top) else 0.0
        bi_best = float(bi_scores[bi_top[0]]) if bi_scores is not None and len(bi_top) else 0.0
        for pos in set(sparse_cands) | set(dense):
            value = rc.dense_weight * dense.get(pos, 0.0)
            if top_score > 0:
                value += rc.sparse_weight * max(float(scores[pos]), 0.0) / top_score
            if bi_best > 0 and bi_scores is not None:
                value += rc.bigram_weight * max(float(bi_scores[pos]), 0.0) / bi_best
            fused[pos] = value
    best = sorted(fused.items(), key=lambda kv: -kv[1])[: k + len(out)]
    rows = kb.manifest.articles_by_ids([snap.ids[p] for p, _ in best])
    seen = {p.id for p in out}
    for pos, score in best:
        aid = snap.ids[pos]
        if aid in seen or aid not in rows:
            continue
        out.append(row_to_passage(rows[aid], score=round(score, 6)))
        seen.add(aid)
    return out[:k]


def dense_vectors(kb: SearchableKB, snap: Snapshot, emb) -> np.ndarray:
    """Every row's vector (zeros where the store has none), read from the store once per kb_version and
    embedder and cached on disk: the ranker needs the cosine of ~300 candidates per question, and one
    store round trip for them costs more than the whole ranking."""
    have = snap.vectors.get(emb.name)
    if have is not None:
        return have
    cache = vectors_cache_path(kb.home, snap.kb_version, emb.name)
    if cache.exists():
        matrix = np.load(cache)
    else:
        matrix = np.zeros((len(snap.ids), emb.dim), dtype=np.float32)
        store = kb._store_obj()
        step = 5000  # below Chroma's SQL-variable limit
        for start in range(0, len(snap.ids), step):
            for aid, vec in store.vectors(emb.name, snap.ids[start : start + step]).items():
                matrix[snap.pos[aid]] = vec
        from knowledge.sparse import atomic_write

        atomic_write(cache, lambda f: np.save(f, matrix))
    snap.vectors[emb.name] = matrix
    return matrix


def dense_subset(snap: Snapshot, emb_name: str, vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The vectors of `rows` as one contiguous matrix, kept on the snapshot for the next question with the same
    filter (a few filters recur: the domains; at most 16 are kept)."""
    key = (emb_name, len(rows), hash(rows.tobytes()))
    have = snap.dense_subsets.get(key)
    if have is None:
        have = vectors.take(rows, axis=0)
        if len(snap.dense_subsets) >= 16:
            snap.dense_subsets.clear()
        snap.dense_subsets[key] = have
    return have


def vectors_cache_path(home: Path, version: str, embedder_name: str) -> Path:
    """Where the vectors of every row of the snapshot at `version` are cached (also written by ingest's
    index worker, knowledge/worker.py)."""
    return home / "index" / f"vectors-{version}-{embedder_name}.npy"


def ranker_profile(kb: SearchableKB, name: str | None):
    """The learned ranker's profile for `name` (a domain), or None when no weights are available."""
    from knowledge.ranking import load_profiles, pick_profile

    path = kb.config.retrieval.ranker_weights
    return pick_profile(load_profiles(str(path) if path else None), name)


def learned_scores(
    snap: Snapshot,
    profile,
    query: str,
    mask: np.ndarray,
    cands: list[int],
    dense: dict[int, float],
    word: np.ndarray,
    bigram: np.ndarray | None,
    heading: np.ndarray,
) -> dict[int, float]:
    """Position -> learned score for every candidate (sparse ∪ dense)."""
    from knowledge.ranking import QueryScores, candidate_features
    from knowledge.textproc import query_bigrams, question_sentence

    rd = snap.rank_data
    assert rd is not None and snap.bigram is not None  # a learned profile is only used with rank data
    pos = np.array(sorted(set(cands) | set(dense)), dtype=np.int64)
    if not len(pos):
        return {}
    vocab = snap.bigram.vocab

    def cols(text: str) -> np.ndarray:
        return np.array(sorted({vocab[g] for g in query_bigrams(text) if g in vocab}), dtype=np.int64)

    focus = question_sentence(query)
    qs = QueryScores(
        word=word,
        bigram=bigram if bigram is not None else np.zeros_like(word),
        heading=heading,
        dense=dense,
        gram_cols=cols(query),
        focus_cols=cols(focus) if focus else np.zeros(0, dtype=np.int64),
    )
    x = candidate_features(
        pos,
        qs,
        mask,
        law_idx=snap.law_idx,
        kinds=rd.kinds,
        log_length=rd.log_length,
        purpose=rd.purpose,
        bigram_csr=rd.bigram_csr,
        bigram_idf=rd.bigram_idf,
    )
    record = getattr(profile, "record", None)
    if record is not None:  # bench/train_ranker.py collects the features of every candidate
        record(pos, x)
    return dict(zip(pos.tolist(), profile.score(x).tolist(), strict=True))


def top_positive(scores: np.ndarray, mask: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, positions of the best `n` positive scores inside the mask, best first).

    Only the rows that match at all are sorted (BM25 is zero for most rows, and a domain mask is small), not the
    whole corpus."""
    ok = np.flatnonzero(mask & (scores > 0))
    if len(ok) > n:
        ok = ok[np.argpartition(-scores[ok], n)[:n]]
    return scores, ok[np.argsort(-scores[ok], kind="stable")]
