"""What a curator sees of the knowledge base: every law and guideline with kind, versions/editions and
which one is served, effective dates, article counts, domains and origin; search by name.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from knowledge.loaders import short_law_name
from knowledge.manifest import UNDATED, Manifest, split_domains
from knowledge.versions import DocVersion, current_versions, version_status


class VersionInfo(BaseModel):
    """One stored version (statutes) or the one edition a guideline title names."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(description="YYYY-MM-DD, '' when undated")
    effective_date: str = ""
    articles: int
    origin: str = Field(description="official | local (a curator's upload)")
    uploader: str = ""
    imported_at: str = ""
    status: str = Field(
        description="current (served) | superseded (older version/edition) | future (not yet in force)"
        " | local (a curator's copy of a law whose official text is served)"
    )
    sample: bool = False


class LawInfo(BaseModel):
    """One law or guideline in the knowledge base."""

    model_config = ConfigDict(extra="forbid")
    law: str
    law_full: str
    domain: str = Field(description="The primary domain")
    versions: list[str] = Field(description="Every stored version, oldest first ('' = undated)")
    articles: int = Field(description="Articles/passages over all versions")
    domains: list[str] = Field(default_factory=list, description="Every domain it serves, primary first")
    kind: str = ""
    family: str = Field(default="", description="Guidelines: the title without its edition")
    editions: list[str] = Field(
        default_factory=list, description="Other editions (titles) of the same guideline"
    )
    current_version: str | None = Field(
        default=None, description="The version served ('' = undated), or None"
    )
    effective_date: str = Field(default="", description="Effective date of the served version")
    origin: str = Field(default="official", description="official | local | mixed (versions of both)")
    details: list[VersionInfo] = Field(default_factory=list, description="Every version, newest first")


def _matches(info_law: str, info_full: str, query: str) -> bool:
    q = short_law_name(query)
    return not q or q in info_law or q in short_law_name(info_full)


def list_laws(
    manifest: Manifest,
    *,
    domain: str | None = None,
    query: str | None = None,
    kind: str | None = None,
    as_of: str | None = None,
) -> list[LawInfo]:
    """Every law/guideline (filtered by domain served, name search and kind), with its versions' status."""
    rows = manifest.query(
        "SELECT law, version, MAX(law_full) AS law_full, MAX(domain) AS domain, MAX(domains) AS domains,"
        " MAX(kind) AS kind, MAX(family) AS family, MAX(effective_date) AS effective_date,"
        " MAX(origin) AS origin, MAX(uploader) AS uploader, MAX(imported_at) AS imported_at,"
        " MAX(sample) AS sample, COUNT(*) AS n FROM articles GROUP BY law, version, origin"
        " ORDER BY law, version, origin DESC"
    )
    groups = [
        DocVersion(
            law=r["law"],
            version=r["version"],
            effective_date=r["effective_date"] or "",
            origin=r["origin"] or "official",
            family=r["family"] or "",
            kind=r["kind"] or "",
        )
        for r in rows
    ]
    current = current_versions(groups, as_of)
    has_official = {g.law for g in groups if g.origin == "official"}
    family_titles: dict[str, set[str]] = {}
    for g in groups:
        if g.family:
            family_titles.setdefault(g.family, set()).add(g.law)
    by_law: dict[str, list[tuple]] = {}
    for r, g in zip(rows, groups, strict=True):
        by_law.setdefault(r["law"], []).append((r, g))
    out: list[LawInfo] = []
    for law, items in by_law.items():
        first = items[-1][0]  # the newest version's row
        domains = split_domains(first["domains"]) or [first["domain"]]
        if domain and domain not in domains:
            continue
        if kind and first["kind"] != kind:
            continue
        if query and not _matches(law, first["law_full"] or law, query):
            continue
        details = [
            VersionInfo(
                version="" if r["version"] == UNDATED else r["version"],
                effective_date=r["effective_date"] or "",
                articles=r["n"],
                origin=g.origin,
                uploader=r["uploader"] or "",
                imported_at=r["imported_at"] or "",
                status=version_status(g, current, law in has_official, as_of),
                sample=bool(r["sample"]),
            )
            for r, g in reversed(items)
        ]
        served = [d for d in details if d.status == "current"]
        origins = {d.origin for d in details}
        family = first["family"] or ""
        out.append(
            LawInfo(
                law=law,
                law_full=first["law_full"] or law,
                domain=domains[0],
                versions=sorted(d.version for d in details),
                articles=sum(d.articles for d in details),
                domains=domains,
                kind=first["kind"] or "",
                family=family if family != law else "",
                editions=sorted(family_titles.get(family, set()) - {law}),
                current_version=served[0].version if served else None,
                effective_date=served[0].effective_date if served else "",
                origin=origins.pop() if len(origins) == 1 else "mixed",
                details=details,
            )
        )
    return out
