"""Grounding: from retrieved passages to an answer whose every citation is true — in one place.

| module | job |
|---|---|
| `format` | the 【分类】/【要点】/【依据】 format: `parse` generator text into an `Answer`, `render` it for users |
| `refs` | what text cites: `find_refs` (《法》第X条之一, nested 《〈〉》 titles, bare names, guideline sections), `normalize_law` |
| `citations` | `verify_citations` (【依据】 against retrieved passages), `scrub_point` (citations inside key points), `ground` (both) |
| `category` | 【分类】: `classify` (question words, then cited documents), `normalise_category` |
| `basis` | `select_basis`: which retrieved passages an answer may rest on (and the articles those rely on) |
| `graph` | the corpus citation graph: `internal_refs` (本法第X条第Y项), `with_cited` (add the articles a retrieved one cites) |
| `release` | `ground_text`: an answer a reviewer releases, parsed, verified and given the domain disclaimer |
| `overlap` | question ↔ passage text overlap (`content_grams`, `coverage`, `names_article`) shared by basis and composer |

The pipeline calls `select_basis` before generation and `ground` after parsing; the extractive composer
(`assistant.generators.extractive`) uses the overlap helpers to pick its statements. Chinese numerals and
the one 第X条 pattern live in `knowledge.numerals`.
"""

from __future__ import annotations

from assistant.grounding.basis import select_basis
from assistant.grounding.category import classify, normalise_category
from assistant.grounding.citations import (
    REMOVED_CITATION,
    CitationCheck,
    Grounding,
    citation_of,
    ground,
    scrub_point,
    verify_citations,
)
from assistant.grounding.format import (
    SECTIONS,
    AnswerFormatError,
    parse,
    parse_citations,
    render,
    short_law_name,
    split_sections,
)
from assistant.grounding.overlap import content_grams, coverage, names_article, passage_grams
from assistant.grounding.refs import Ref, find_citations, find_refs, normalize_law, parse_citation
from assistant.grounding.release import ground_text

__all__ = [
    "REMOVED_CITATION",
    "SECTIONS",
    "AnswerFormatError",
    "CitationCheck",
    "Grounding",
    "Ref",
    "citation_of",
    "classify",
    "normalise_category",
    "find_refs",
    "content_grams",
    "coverage",
    "find_citations",
    "ground",
    "ground_text",
    "names_article",
    "normalize_law",
    "parse",
    "parse_citation",
    "parse_citations",
    "passage_grams",
    "render",
    "scrub_point",
    "select_basis",
    "short_law_name",
    "split_sections",
    "verify_citations",
]
