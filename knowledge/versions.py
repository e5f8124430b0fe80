"""Which version of a law, and which edition of a guideline, is served by default ("current").

The rules (one place, used by the retrieval snapshot, exact look-up and curation):
- A version is in force on a date when its effective date (else its version date) is on or before it; undated
  versions always are. A version dated in the future is never current.
- Statute versions: per law, the newest version in force. When a law has official text, only official
  versions count: a curator's upload of the same law (origin `local`) is kept and listed, never served in
  place of the official text.
- Guideline editions: titles of one family (流行性感冒诊疗方案（2020年版） / （2025年版）, see
  knowledge.classify.edition_family) supersede each other like versions, newest edition first; a local
  edition newer than every official one is served next to the official one, never instead of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from knowledge.classify import GUIDELINE, edition_rank

UNDATED = "undated"


@dataclass(frozen=True)
class DocVersion:
    """One stored (law, version) with what decides whether it is served."""

    law: str
    version: str  # YYYY-MM-DD or 'undated'
    effective_date: str = ""
    origin: str = "official"
    family: str = ""
    kind: str = ""


def today() -> str:
    """Today's date, YYYY-MM-DD (the default 'as of')."""
    return date.today().isoformat()


def in_force_on(v: DocVersion, as_of: str) -> bool:
    """True when `v` is in force on `as_of` (undated versions always are)."""
    when = v.effective_date or ("" if v.version == UNDATED else v.version)
    return not when or when <= as_of


def _sort_version(v: DocVersion) -> str:
    return "" if v.version == UNDATED else v.version


def current_versions(versions: Iterable[DocVersion], as_of: str | None = None) -> set[tuple[str, str, str]]:
    """The (law, version, origin) keys served by default on `as_of` (today when None). Rows of one (law,
    version) can differ in origin only in a knowledge base forged before uploads were checked: there the
    local rows are never served."""
    as_of = as_of or today()
    by_law: dict[str, list[DocVersion]] = {}
    for v in versions:
        by_law.setdefault(v.law, []).append(v)
    chosen: dict[str, DocVersion] = {}
    for law, group in by_law.items():
        live = [v for v in group if in_force_on(v, as_of)]
        official = [v for v in live if v.origin == "official"]
        if any(v.origin == "official" for v in group):
            live = official  # local copies of an official law are never served by default
        if live:
            chosen[law] = max(live, key=_sort_version)
    # editions: within a guideline family, the newest edition supersedes the older ones
    families: dict[str, list[DocVersion]] = {}
    for v in chosen.values():
        if v.kind == GUIDELINE and v.family:
            families.setdefault(v.family, []).append(v)
    for group in families.values():
        if len(group) < 2:
            continue
        ranked = {v.law: edition_rank(v.law, v.effective_date) for v in group}
        official = [v for v in group if v.origin == "official"]
        best_official = max((ranked[v.law] for v in official), default=None)
        best_local = max((ranked[v.law] for v in group if v.origin != "official"), default=None)
        for v in group:
            rank = ranked[v.law]
            if v.origin == "official":
                keep = rank == best_official
            else:
                keep = rank == best_local and (best_official is None or rank > best_official)
            if not keep:
                chosen.pop(v.law, None)
    return {(v.law, v.version, v.origin) for v in chosen.values()}


def version_status(
    v: DocVersion, current: set[tuple[str, str, str]], law_has_official: bool, as_of: str | None = None
) -> str:
    """Why a version is or is not served: current | future (not yet in force) | local (a curator's copy of a
    law whose official text is served) | superseded (an older version or edition)."""
    if (v.law, v.version, v.origin) in current:
        return "current"
    if not in_force_on(v, as_of or today()):
        return "future"
    if v.origin != "official" and law_has_official:
        return "local"
    return "superseded"


@dataclass
class VersionIndex:
    """The (law, version) groups of a list of stored rows, to compute per-row 'served' flags fast."""

    groups: list[DocVersion]
    row_group: np.ndarray  # per row: its index in `groups`

    def served(self, as_of: str | None = None) -> np.ndarray:
        """Per row: True when its version is served by default on `as_of` (today when None)."""
        ok = current_versions(self.groups, as_of)
        flags = np.array([(g.law, g.version, g.origin) in ok for g in self.groups] or [False], dtype=bool)
        return flags[self.row_group] if len(self.row_group) else np.zeros(0, dtype=bool)


def version_index(rows: Sequence) -> VersionIndex:
    """Group manifest rows (law, version, effective_date, origin, family, kind) into DocVersions."""
    pos: dict[tuple[str, str, str], int] = {}
    groups: list[DocVersion] = []
    row_group = np.zeros(len(rows), dtype=np.int32)
    for n, r in enumerate(rows):
        key = (r["law"], r["version"], r["origin"] or "official")
        g = pos.get(key)
        if g is None:
            g = pos[key] = len(groups)
            groups.append(
                DocVersion(
                    law=r["law"],
                    version=r["version"],
                    effective_date=r["effective_date"] or "",
                    origin=r["origin"] or "official",
                    family=r["family"] or "",
                    kind=r["kind"] or "",
                )
            )
        row_group[n] = g
    return VersionIndex(groups, row_group)
