"""Data types the knowledge base hands to the rest of yiju.

`Passage` is the one object that flows from retrieval into generation, citation
verification and the audit trail, so it lives here at the bottom of the chain.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, model_validator

GUIDELINE_KIND = "指南"
_ID_RE = re.compile(r"^(?P<law>.+)@(?P<version>[^@#]*)#(?P<key>[^#]+)$")


class Passage(BaseModel):
    """One article (第X条) or guideline passage, as stored and as retrieved."""

    id: str = Field(description="Stable chunk id: '<law>@<version>#<article_no>' (or a passage key).")
    domain: str = Field(description="legal | medical | … (the knowledge domain)")
    law: str = Field(description="Short name without 中华人民共和国, e.g. 劳动合同法")
    law_full: str = Field(
        default="", description="Full title as in the source, e.g. 中华人民共和国劳动合同法"
    )
    article_no: int | None = Field(default=None, description="Integer article number; None for free passages")
    article_label: str = Field(default="", description="As written in the source, e.g. 第四十七条")
    chapter: str = Field(default="", description="Chapter heading, e.g. 第五章 特别规定")
    text: str = Field(description="Verbatim article text (all its paragraphs)")
    version: str = Field(default="", description="Version date YYYY-MM-DD of the law this article belongs to")
    source: str = Field(default="", description="Source file path")
    content_hash: str = Field(default="", description="sha256 of the article text")
    score: float = Field(
        default=0.0, description="Retrieval score (higher is better); 0 when not from a search"
    )
    sample: bool = Field(
        default=False, description="True for the packaged starter KB (示例), not a full statute import"
    )
    summary: str = Field(
        default="", description="Plain-language point about the article (starter KB), else ''"
    )
    kind: str = Field(
        default="",
        description="宪法 | 法律 | 行政法规 | 司法解释 | 部门规章 | 地方性法规 | 指南 (guideline) | 其他; '' when unknown",
    )
    section: str = Field(
        default="",
        description="Guidelines: the heading path joined by ' > ' (the citation unit); '' for statutes",
    )
    sections: list[str] = Field(
        default_factory=list,
        description="Guidelines: every heading path the passage covers, in source order; [] for statutes",
    )
    effective_date: str = Field(
        default="", description="YYYY-MM-DD when known (statutes: the version date; guidelines: the field)"
    )
    domains: list[str] = Field(
        default_factory=list,
        description="Every domain the document serves, primary (`domain`) first; retrieval's domain filter"
        " means 'domain in domains'",
    )
    origin: str = Field(
        default="official",
        description="official = imported by an operator from an official corpus; local = a curator's upload",
    )
    uploader: str = Field(
        default="", description="Who imported it: the API key name/id of an upload, else ''"
    )
    imported_at: str = Field(default="", description="When this text was imported (UTC, ISO 8601)")
    file_hash: str = Field(default="", description="sha256 of the source file this text was imported from")
    source_info: str = Field(
        default="",
        description="Where the text comes from as the source states it (issuing body, official URL)",
    )

    @model_validator(mode="after")
    def _primary_in_domains(self) -> Passage:
        if not self.domains:
            self.domains = [self.domain]
        elif self.domains[0] != self.domain:
            self.domains = [self.domain] + [d for d in self.domains if d != self.domain]
        return self

    @property
    def is_guideline(self) -> bool:
        """True for a guideline passage (cited by section, not by article)."""
        return self.kind == GUIDELINE_KIND or (self.article_no is None and bool(self.section))

    @property
    def citation(self) -> str:
        """Human citation: 《劳动合同法》第四十七条; 《流行性感冒诊疗方案（2025年版）》四、临床表现 > （一）临床表现."""
        if self.is_guideline and self.section and self.article_no is None:
            return f"《{self.law}》{self.section}"
        label = self.article_label or (f"第{self.article_no}条" if self.article_no is not None else "")
        return f"《{self.law}》{label}"


def article_key(article_no: int, sub: int = 0) -> str:
    """The key of an article within a law version: 47 -> '47', (120, 1) -> '120-1' (第一百二十条之一)."""
    return f"{article_no}-{sub}" if sub else str(article_no)


def is_passage_id(text: str) -> bool:
    """Whether `text` is a passage id `law@version#key` (rather than, say, a reference 劳动合同法第四十七条)."""
    return _ID_RE.match(text or "") is not None


def passage_id(law: str, version: str, key: str) -> str:
    """The stable id of a stored passage: '<law>@<version>#<key>' (version 'undated' when unknown)."""
    return f"{law}@{version}#{key}"


def parse_passage_id(pid: str) -> tuple[str, str, str]:
    """'劳动合同法@2012-12-28#47' -> ('劳动合同法', '2012-12-28', '47'). Keys: '47', '120-1' (第一百二十条之一),
    'p17' (a passage). Raises ValueError for anything else."""
    m = _ID_RE.match(pid or "")
    if not m:
        raise ValueError(f"not a passage id: {pid!r} (expected law@version#key)")
    return m.group("law"), m.group("version"), m.group("key")


def article_no_of_key(key: str) -> int | None:
    """The article number a key stands for: '47' -> 47, '120-1' -> 120 (第一百二十条之一), 'p17' -> None."""
    head = key.split("-", 1)[0]
    return int(head) if head.isdigit() else None
