"""Data types the knowledge base hands to the rest of yiju.

`Passage` is the one object that flows from retrieval into generation, citation
verification and the audit trail, so it lives here at the bottom of the chain.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


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

    @property
    def citation(self) -> str:
        """Human citation, e.g. 《劳动合同法》第四十七条."""
        label = self.article_label or (f"第{self.article_no}条" if self.article_no is not None else "")
        return f"《{self.law}》{label}"
