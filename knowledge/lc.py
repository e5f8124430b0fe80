"""LangChain adapter: the knowledge base as a `BaseRetriever`."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever


class KBRetriever(BaseRetriever):
    """Hybrid retrieval from a KnowledgeBase; each Document's metadata is the Passage (minus text)."""

    kb: Any
    domain: str | None = None
    k: int = 5

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.kb.retrieve(query, domain=self.domain, k=self.k)
        return [
            Document(
                page_content=p.text,
                id=p.id,
                metadata={**p.model_dump(exclude={"text"}), "citation": p.citation},
            )
            for p in passages
        ]
